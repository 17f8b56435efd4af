#!/usr/bin/env bash
# A checkpoint survives a crash in the middle of a write and a full disk; bad checkpoints and
# mismatched resumes give one line naming the file and the problem.
source "$(dirname "$0")/lib.sh"
COMMON=(--data "$DATA" --model cnn2710 --batch 100 --val 50000 --threads 1 --json)
PY=/usr/bin/python3

"$DPTRAIN" train "${COMMON[@]}" --epochs 2 >"$WORK/straight.json"
"$DPTRAIN" train "${COMMON[@]}" --epochs 1 --out "$WORK/run" >/dev/null
ckpt=$WORK/run/seed-1/checkpoint.h5
good=$(md5sum <"$ckpt")

# Killed (SIGKILL) in the middle of writing the epoch-2 checkpoint: epoch 1's is intact.
rc=0
DPTRAIN_FAULT=write-kill "$DPTRAIN" train "${COMMON[@]}" --epochs 2 --out "$WORK/run" --resume auto \
  >/dev/null 2>&1 || rc=$?
[[ $rc == 137 ]] || fail "fault injection: exit $rc, expected 137 (SIGKILL)"
[[ $(md5sum <"$ckpt") == "$good" ]] || fail "the previous checkpoint changed"
h5dump -H "$ckpt" >/dev/null || fail "the previous checkpoint is unreadable"
stale=$(ls "$WORK"/run/seed-1/checkpoint.h5.tmp-*) || fail "the killed write left no temporary file"
"$DPTRAIN" train "${COMMON[@]}" --epochs 2 --out "$WORK/run" --resume auto >"$WORK/after.json"
[[ $(sha "$WORK/after.json") == $(sha "$WORK/straight.json") ]] || fail "resume after the crash differs"
grep -Fq "removed $stale, left by process ${stale##*-} (no longer running)" "$WORK/after.json" ||
  fail "the stale $stale was not removed with a word: $(head -3 "$WORK/after.json")"
[[ ! -e $stale ]] || fail "$stale is still there"
echo "ok: killed mid-write: previous checkpoint intact, resumed to the same weights, $(basename "$stale") removed"

# A full disk (a small tmpfs, filled up) during the write: error reported, old file intact.
disk=$WORK/disk
mkdir "$disk"
mount -t tmpfs -o size=256k tmpfs "$disk" || fail "cannot mount a tmpfs for the full-disk test"
trap 'umount "$disk" 2>/dev/null; rm -rf "$WORK"' EXIT
"$DPTRAIN" train "${COMMON[@]}" --epochs 1 --out "$disk" >/dev/null
full=$disk/seed-1/checkpoint.h5
good=$(md5sum <"$full")
dd if=/dev/zero of="$disk/filler" bs=1k count=1000 2>/dev/null || true # fills what is left
rc=0
"$DPTRAIN" train "${COMMON[@]}" --epochs 2 --out "$disk" --resume auto >/dev/null 2>"$WORK/err" || rc=$?
[[ $rc == 1 ]] || fail "full disk: exit $rc, expected 1: $(cat "$WORK/err")"
[[ $(wc -l <"$WORK/err") == 1 ]] || fail "full disk: not one line: $(cat "$WORK/err")"
grep -q "checkpoint.h5: cannot write (No space left on device); the previous file is left as it was" "$WORK/err" ||
  fail "full disk message: $(cat "$WORK/err")"
[[ $(md5sum <"$full") == "$good" ]] || fail "full disk: the previous checkpoint changed"
ls "$disk"/seed-1/*.tmp-* 2>/dev/null && fail "full disk: temporary file left behind"
echo "ok: $(cat "$WORK/err")"
# The disk filled to every few KiB short of a run's files: one line and status 1 each time, never
# a crash (HDF5 1.10 used to crash at exit after a close that failed for want of space).
failed=0
for free in 4 24 48 72 96 120 160; do
  rm -rf "${disk:?}"/*
  dd if=/dev/zero of="$disk/filler" bs=1k count=$(($(df -k --output=avail "$disk" | tail -1) - free)) 2>/dev/null
  rc=0
  "$DPTRAIN" train "${COMMON[@]}" --val 100 --train-samples 500 --test-samples 100 --epochs 2 --out "$disk" \
    >/dev/null 2>"$WORK/err" || rc=$?
  [[ $rc == 0 || ($rc == 1 && $(wc -l <"$WORK/err") == 1) ]] ||
    fail "disk with ${free} KiB free: exit $rc: $(head -5 "$WORK/err")"
  grep -q "cannot write (No space left on device); the previous file is left as it was" "$WORK/err" ||
    [[ $rc == 0 ]] || fail "disk with ${free} KiB free: $(cat "$WORK/err")"
  ((failed += rc))
done
((failed >= 3)) || fail "only $failed of 7 fill levels made a write fail"
echo "ok: a disk full at 7 levels ($failed of them too full): one line, status 1, no crash"

# Bad checkpoints: one line each, non-zero exit, nothing overwritten.
head -c 2000 "$ckpt" >"$WORK/truncated.h5"
expect_error 1 "truncated.h5: HDF5 file truncated or corrupted" "$DPTRAIN" eval "$WORK/truncated.h5" --data "$DATA"
head -c 100000 /dev/urandom >"$WORK/noise.h5"
expect_error 1 "noise.h5: not an HDF5 file" "$DPTRAIN" eval "$WORK/noise.h5" --data "$DATA"
expect_error 1 "missing.h5: No such file or directory" "$DPTRAIN" eval "$WORK/missing.h5" --data "$DATA"
"$PY" - "$WORK" "$ckpt" <<'PYEOF'
import shutil, sys, h5py
work, ckpt = sys.argv[1], sys.argv[2]
with h5py.File(f"{work}/foreign.h5", "w") as f:
    f["data"] = [1, 2, 3]
for name in ("newer", "shape", "nohistory"):
    shutil.copy(ckpt, f"{work}/{name}.h5")
with h5py.File(f"{work}/newer.h5", "a") as f:
    f["meta"].attrs["format_version"] = 99
with h5py.File(f"{work}/shape.h5", "a") as f:
    f["model"].attrs["spec"] = "conv(16,5,pad=2) relu maxpool(2) conv(4,3,pad=1) relu maxpool(2) linear(10)"
with h5py.File(f"{work}/nohistory.h5", "a") as f:
    del f["history"]
PYEOF
expect_error 1 "foreign.h5: not a dptrain checkpoint \(no /meta format_version\)" "$DPTRAIN" eval "$WORK/foreign.h5" --data "$DATA"
expect_error 1 "newer.h5: checkpoint format 99 is newer than this dptrain reads \(2\)" "$DPTRAIN" eval "$WORK/newer.h5" --data "$DATA"
expect_error 1 "shape.h5: /model/conv1/weight has shape 16x1x3x3, expected 16x1x5x5" "$DPTRAIN" eval "$WORK/shape.h5" --data "$DATA"
expect_error 1 "nohistory.h5: missing /history" "$DPTRAIN" train "${COMMON[@]}" --epochs 2 --resume "$WORK/nohistory.h5"

# Resuming with other settings is refused, naming the setting.
expect_error 1 "checkpoint.h5: lr differs \(checkpoint 0.01, this run 0.02\)" "$DPTRAIN" train "${COMMON[@]}" --epochs 2 --out "$WORK/run" --resume auto --lr 0.02
expect_error 1 "checkpoint.h5: model differs" "$DPTRAIN" train "${COMMON[@]}" --epochs 2 --out "$WORK/run" --resume auto --model cnn8-16-32
expect_error 1 "checkpoint.h5: the training data differs" "$DPTRAIN" train "${COMMON[@]}" --epochs 2 --out "$WORK/run" --resume auto --data /usr/share/datasets/fashion-mnist
expect_error 1 "--resume auto needs --out" "$DPTRAIN" train "${COMMON[@]}" --epochs 2 --resume auto
[[ -z $(ls "$WORK"/run/seed-1/*.tmp-* 2>/dev/null) ]] || fail "temporary files left behind"
echo "PASS"
