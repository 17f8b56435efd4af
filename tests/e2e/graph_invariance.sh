#!/usr/bin/env bash
# A graph with BatchNorm (2-D and 1-D, affine on and off), Dropout, Dropout2d and a residual
# block: the same seed gives bit-identical parameters AND running statistics at 1, 2, 3 and 4
# ranks and at 1 and 2 threads; a run stopped in mid-epoch resumes on another rank count to the
# same bits.
source "$(dirname "$0")/lib.sh"
MODEL="conv(8,3,pad=1,bias=0) batchnorm relu res[ conv(8,3,pad=1,bias=0) batchnorm relu \
dropout(0.2) conv(8,3,pad=1) ] maxpool(2) dropout2d(0.1) conv(16,3,pad=1) batchnorm(affine=0) elu \
maxpool(2) linear(32) batchnorm leakyrelu dropout(0.3) linear(10)"
# 8,000 training samples; batch 100 in micro-batches of 32 is 32+32+32+4.
COMMON=(--data "$DATA" --model "$MODEL" --val 1000 --train-samples 8000 --test-samples 1000 --batch 100 --opt sgd --lr 0.05
  --momentum 0.9 --json)
train() { local np=$1; shift; "${MPIRUN[@]}" -np "$np" "$DPTRAIN" train "${COMMON[@]}" "$@"; }
both() { echo "$(sha "$1") $(json_get "$1" 'd["buffer_sha256"]')"; }

want=""
for run in "1 1" "2 1" "3 1" "4 1" "1 2"; do
  set -- $run
  train "$1" --epochs 2 --threads "$2" >"$WORK/r$1-t$2.json"
  got=$(both "$WORK/r$1-t$2.json")
  echo "ok: $1 rank(s) x $2 thread(s): $got"
  [[ -z $want || $got == "$want" ]] || fail "$1 ranks x $2 threads gave $got, 1 rank $want"
  want=$got
done
# running_mean and running_var per channel, num_batches_tracked: bn1 8, bn2 8, bn3 16, bn4 32
[[ $(json_get "$WORK/r1-t1.json" 'd["buffers"]') == $((2 * (8 + 8 + 16 + 32) + 4)) ]] ||
  fail "buffer count"
acc=$(json_get "$WORK/r1-t1.json" 'd["final"]["test_acc"]')
python3 -c "import sys; sys.exit(0 if $acc > 0.9 else 1)" || fail "test accuracy $acc: not learning"
echo "ok: test accuracy after 2 epochs on 8,000 samples: $acc"

# Stopped by SIGTERM in the middle of epoch 2 (one process), resumed on 3 ranks.
term_after_epoch_1 stop 2 "${COMMON[@]}" --threads 1 --out "$WORK/stop"
grep -Eq "stopped by signal 15 at epoch 2, step [1-9]" "$WORK/stop.err" ||
  fail "not stopped in mid-epoch: $(cat "$WORK/stop.err")"
h5dump -d /model/bn1/running_var "$WORK/stop/seed-1/checkpoint.h5" >/dev/null ||
  fail "no /model/bn1/running_var in the checkpoint"
train 3 --threads 1 --epochs 2 --out "$WORK/stop" --resume auto >"$WORK/resumed.json"
[[ $(both "$WORK/resumed.json") == "$want" ]] ||
  fail "stopped at $(tail -1 "$WORK/stop.err"), resumed on 3 ranks: $(both "$WORK/resumed.json") != $want"
echo "ok: $(tail -1 "$WORK/stop.err"); resumed on 3 ranks: same parameters and buffers"

# A checkpoint whose spec needs buffers it lacks is refused, naming what is missing.
cp "$WORK/stop/seed-1/checkpoint.h5" "$WORK/nobuf.h5"
/usr/bin/python3 - "$WORK/nobuf.h5" <<'PY'
import sys
import h5py
with h5py.File(sys.argv[1], "r+") as f:
    del f["/model/bn2/running_mean"]
PY
expect_error 1 "nobuf.h5: missing dataset /model/bn2/running_mean" "$DPTRAIN" eval "$WORK/nobuf.h5" \
  --data "$DATA"
echo "PASS"
