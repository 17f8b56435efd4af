#!/usr/bin/env bash
# Class weights, top-5 and --init end to end: uniform weights of 2 change no bit (the loss and
# its divisor double together), balanced weights change the run and are recorded; top-5 is
# reported beside top-1; bad values get one line.
source "$(dirname "$0")/lib.sh"
COMMON=(--data "$DATA" --model cnn2710 --val 55000 --batch 100 --epochs 1 --threads 1 --json)
T() { "$DPTRAIN" train "${COMMON[@]}" "$@"; }

T >"$WORK/plain.json"
T --class-weights 2,2,2,2,2,2,2,2,2,2 >"$WORK/twos.json"
[[ $(sha "$WORK/twos.json") == $(sha "$WORK/plain.json") ]] ||
  fail "uniform class weights of 2 changed the weights: the divisor is not the summed weights"
echo "ok: --class-weights 2,...,2 gives the unweighted run's param_sha256"

T --class-weights balanced --out "$WORK/bal" >"$WORK/bal.json"
[[ $(sha "$WORK/bal.json") != $(sha "$WORK/plain.json") ]] || fail "balanced weights changed nothing"
[[ $(h5dump -a /config/class_weights "$WORK/bal/seed-1/checkpoint.h5" | grep -c '"balanced"') == 1 ]] ||
  fail "the checkpoint does not record class_weights balanced"
echo "ok: --class-weights balanced trains differently and is recorded in /config"

json_get "$WORK/bal.json" 'all(d["final"][s + "_top5"] >= d["final"][s + "_acc"] > 0.2 for s in ("train", "val", "test"))' |
  grep -qx True || fail "top-5 missing or below top-1: $(json_get "$WORK/bal.json" 'd["final"]')"
echo "ok: top-5 $(json_get "$WORK/bal.json" 'd["final"]["test_top5"]') >= top-1 $(json_get "$WORK/bal.json" 'd["final"]["test_acc"]')"

T --init kaiming-normal >"$WORK/kaiming.json"
[[ $(sha "$WORK/kaiming.json") != $(sha "$WORK/plain.json") ]] || fail "--init changed nothing"
echo "ok: --init kaiming-normal"

expect_error 1 "--class-weights 1,2: expected 10 comma-separated weights" T --class-weights 1,2
expect_error 1 "--class-weights 1,1,1,1,1,1,1,1,1,1,1: more than the 10 classes' weights" \
  T --class-weights 1,1,1,1,1,1,1,1,1,1,1
expect_error 2 "--init uniform: expected default, xavier-uniform" T --init uniform
echo "PASS"
