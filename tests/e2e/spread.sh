#!/usr/bin/env bash
# scripts/spread on a small experiment: runs, plots and table; a second call trains nothing;
# Ctrl-C checkpoints every run, and the same command then finishes them as if never stopped.
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

# Ctrl-C from a terminal: SIGINT to spread's whole process group, spread started as a
# foreground job is (SIGINT not ignored, a process group of its own).
long_experiment "$WORK/long.ini" 1-2 1
# Runs a command as a shell would a foreground job: SIGINT as default, its own process group.
as_foreground_job=(/usr/bin/python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL); os.setsid(); os.execv(sys.argv[1], sys.argv[1:])')
spread_long=("$SCRIPTS/spread" "$WORK/long.ini" --root "$WORK/runs" --np 2)
"${as_foreground_job[@]}" "${spread_long[@]}" >"$WORK/stop.log" 2>&1 &
pid=$!
wait_for 60 "$WORK/stop.log" "epoch 1/3"
kill -INT -- -"$pid"
rc=0
wait "$pid" || rc=$?
[[ $rc == 75 ]] || fail "spread after Ctrl-C exited $rc, expected 75: $(cat "$WORK/stop.log")"
[[ $(grep -c "stopped by signal 10 at epoch" "$WORK/stop.log") == 2 ]] ||
  fail "not every run checkpointed in mid-run: $(cat "$WORK/stop.log")"
echo "ok: Ctrl-C: $(grep -c "stopped by signal" "$WORK/stop.log") runs checkpointed, spread exited 75"
"${as_foreground_job[@]}" "${spread_long[@]}" >"$WORK/again.log" 2>&1 || fail "spread after a stop failed: $(cat "$WORK/again.log")"
[[ $(grep -c "resuming from" "$WORK/again.log") == 2 ]] || fail "did not resume: $(cat "$WORK/again.log")"
mapfile -t args < <("$DPTRAIN" runs "$WORK/long.ini" --root "$WORK/straight" --point 0)
"${MPIRUN[@]}" -np 2 "$DPTRAIN" train "${args[@]}" >/dev/null
for s in 1 2; do
  [[ $(sha "$WORK/runs/long/seed-$s/result.json") == $(sha "$WORK/straight/long/seed-$s/result.json") ]] ||
    fail "seed $s stopped and continued differs from an uninterrupted run"
done
echo "ok: continued after Ctrl-C: the weights of uninterrupted runs"
echo "PASS"
