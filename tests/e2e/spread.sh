#!/usr/bin/env bash
# scripts/spread on a small experiment: runs, plots and table; a second call trains nothing.
source "$(dirname "$0")/lib.sh"
tiny_experiment "$WORK/tiny.ini"
DPTRAIN=$DPTRAIN "$SCRIPTS/spread" "$WORK/tiny.ini" --root "$WORK/runs" --np 2 >"$WORK/log" 2>&1 ||
  fail "spread failed: $(tail -5 "$WORK/log")"
check_experiment_outputs "$WORK/runs/tiny"
before=$(cat "$WORK"/runs/tiny/*/seed-*/result.json | md5sum)
DPTRAIN=$DPTRAIN "$SCRIPTS/spread" "$WORK/tiny.ini" --root "$WORK/runs" --np 2 >"$WORK/log2" 2>&1 ||
  fail "second spread failed"
grep -q "epoch 1/1" "$WORK/log2" && fail "the second call trained again"
[[ $(grep -c "at epoch 2, step 0" "$WORK/log2") == 4 ]] || fail "finished runs not recognized: $(cat "$WORK/log2")"
after=$(cat "$WORK"/runs/tiny/*/seed-*/result.json | python3 -c 'import sys; print(sys.stdin.read().count("param_sha256"))')
[[ $after == 4 ]] || fail "results lost"
echo "ok: a second call skipped the 4 finished runs"
echo "PASS"
