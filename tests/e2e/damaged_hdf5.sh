#!/usr/bin/env bash
# HDF5 1.10 itself segfaults or loops forever on some damaged files (the reproducers the fuzzers
# found, tests/fuzz/crashes/): every command that reads a checkpoint or a dataset answers them in
# one line naming the file, status 1, within its time limit (2 s here, DPTRAIN_READ_SECONDS).
source "$(dirname "$0")/lib.sh"
CRASHES=$(cd "$(dirname "$0")/../fuzz/crashes" && pwd)
export DPTRAIN_READ_SECONDS=2

# within SECONDS PATTERN CMD...: one line matching PATTERN, status 1, in time.
within() {
  local seconds=$1 pattern=$2 start=$SECONDS
  shift 2
  expect_error 1 "$pattern" timeout $((seconds + 10)) "$@"
  ((SECONDS - start <= seconds)) || fail "$* took $((SECONDS - start)) s"
}

for f in "$CRASHES"/ckpt/*.h5; do
  within 10 "^dptrain eval: $f: " "$DPTRAIN" eval "$f" --data "$DATA"
  within 10 "^dptrain predict: $f: " "$DPTRAIN" predict "$f" "$CRASHES/../corpus/png/gray8-28x28.png"
  within 10 "^dptrain train: $f: " "$DPTRAIN" train --data "$DATA" --train-samples 64 --resume "$f"
done
for f in "$CRASHES"/dataset_h5/*.h5; do
  within 10 "^dptrain data: $f: " "$DPTRAIN" data info "$f"
  within 10 "^dptrain train: $f: " "$DPTRAIN" train --data "$f"
done
# The crash and the hang messages, as a user sees them.
expect_error 1 "reading it crashed .*: the file is damaged$" \
  "$DPTRAIN" eval "$CRASHES/ckpt/hdf5-segv-H5HG_read-class-names.h5" --data "$DATA"
expect_error 1 "still reading after 2 s .*: the file is damaged or its file system hangs" \
  "$DPTRAIN" data info "$CRASHES/dataset_h5/hdf5-hang-global-heap-classes.h5"
echo "PASS"
