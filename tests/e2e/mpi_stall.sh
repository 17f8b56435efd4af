#!/usr/bin/env bash
# A rank that stops answering (SIGSTOP) does not hold the others: after --stall-timeout they name
# it and every process ends, status 1. A slow but live rank (rank 0 evaluating for many times the
# timeout) is not taken for a stopped one.
source "$(dirname "$0")/lib.sh"
ARGS=(train --data "$DATA" --threads 1)

# pid_of_rank RANK MARKER: the process of that MPI rank whose command line holds MARKER.
pid_of_rank() {
  local p
  for p in $(pgrep -f -- "$2"); do
    tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1" && echo "$p"
  done
}

# Rank 2 of 3 is stopped in mid-epoch.
marker=$WORK/stopped
rc=0
timeout 120 "${MPIRUN[@]}" -np 3 "$DPTRAIN" "${ARGS[@]}" --model cnn2710 --epochs 3 \
  --stall-timeout 2 --out "$marker" >"$WORK/out" 2>"$WORK/err" &
job=$!
wait_for 60 "$WORK/out" "^model "
sleep 1
pid=$(pid_of_rank 2 "$marker")
[[ -n $pid ]] || fail "no process of rank 2: $(cat "$WORK/err")"
kill -STOP "$pid"
stopped=$SECONDS
wait "$job" || rc=$?
took=$((SECONDS - stopped))
[[ $rc == 1 ]] || fail "exit status $rc (124: it hung): $(cat "$WORK/err")"
# Timeout 2 s, then 2 s to answer, then 2 s more for the other waiting ranks to see it too.
((took <= 30)) || fail "the job took $took s to end after the stop"
[[ -z $(pgrep -f -- "$marker") ]] || fail "processes left: $(pgrep -af -- "$marker")"
for r in 0 1; do
  grep -Eq "^dptrain: rank $r: waited [0-9]+ s for .*; rank 2 did not answer within 2 s \(stopped, hung, or its host unreachable\): stopping every rank" \
    "$WORK/err" || fail "rank $r did not name rank 2: $(cat "$WORK/err")"
done
echo "ok: rank 2 stopped, all ended $took s later: $(grep -m1 '^dptrain: rank' "$WORK/err")"

# Rank 0 evaluates 5,000 images (seconds) while rank 1 waits with a 1 s timeout: it answers.
"${MPIRUN[@]}" -np 2 "$DPTRAIN" "${ARGS[@]}" --model cnn50-100 --epochs 2 --train-samples 256 \
  --val 2000 --test-samples 3000 --stall-timeout 1 >"$WORK/out" 2>"$WORK/err" ||
  fail "a slow evaluation was taken for a stall: $(cat "$WORK/err")"
grep -q "^epoch 2/2" "$WORK/out" || fail "$(cat "$WORK/out")"
echo "ok: rank 0 evaluating for $(grep -c '^epoch' "$WORK/out") epochs, no stall reported"

expect_error 2 "--stall-timeout -1: expected a whole number from 0 to 1000000" "$DPTRAIN" train --stall-timeout -1
expect_error 2 "stall-timeout" "$DPTRAIN" train --stall-timeout soon
echo "PASS"
