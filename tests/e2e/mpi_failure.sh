#!/usr/bin/env bash
# When one rank fails, every rank stops soon, with the error printed once.
source "$(dirname "$0")/lib.sh"
ARGS=(train --model cnn2710 --epochs 1 --threads 1)

# Rank 1 cannot read its data.
rc=0
timeout 60 "${MPIRUN[@]}" -np 1 "$DPTRAIN" "${ARGS[@]}" --data "$DATA" : \
  -np 1 "$DPTRAIN" "${ARGS[@]}" --data "$WORK/missing" >"$WORK/out" 2>"$WORK/err" || rc=$?
[[ $rc != 0 && $rc != 124 ]] || fail "exit status $rc (124: it hung)"
[[ $(grep -c "dptrain train:" "$WORK/err") == 1 ]] || fail "error not printed once: $(cat "$WORK/err")"
grep -q "$WORK/missing: No such file or directory" "$WORK/err" || fail "$(cat "$WORK/err")"
echo "ok: unreadable data on rank 1: $(grep 'dptrain train:' "$WORK/err")"

# Ranks started with different settings.
rc=0
timeout 60 "${MPIRUN[@]}" -np 1 "$DPTRAIN" "${ARGS[@]}" --data "$DATA" --lr 0.1 : \
  -np 1 "$DPTRAIN" "${ARGS[@]}" --data "$DATA" --lr 0.2 >"$WORK/out" 2>"$WORK/err" || rc=$?
[[ $rc != 0 && $rc != 124 ]] || fail "exit status $rc"
[[ $(grep -c "dptrain train:" "$WORK/err") == 1 ]] || fail "error not printed once: $(cat "$WORK/err")"
grep -q "rank 1: its configuration differs from rank 0's" "$WORK/err" || fail "$(cat "$WORK/err")"
echo "ok: mismatched settings: $(grep 'dptrain train:' "$WORK/err")"

# Divergence is seen by all ranks at the same step and reported once.
rc=0
timeout 60 "${MPIRUN[@]}" -np 2 "$DPTRAIN" "${ARGS[@]}" --data "$DATA" --lr 1e30 \
  >"$WORK/out" 2>"$WORK/err" || rc=$?
[[ $rc == 1 ]] || fail "exit status $rc"
[[ $(grep -c "dptrain train:" "$WORK/err") == 1 ]] || fail "error not printed once: $(cat "$WORK/err")"
echo "ok: divergence at 2 ranks: $(grep 'dptrain train:' "$WORK/err")"
echo "PASS"
