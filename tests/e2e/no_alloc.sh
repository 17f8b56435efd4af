#!/usr/bin/env bash
# No allocation in the training loop: dptrain's own code makes as many allocations in a run of 20
# steps as in one of 10 (1 and 2 ranks, 1 and 2 threads, a chain and a graph with BatchNorm,
# dropout, a residual block and a concatenation, SGD and Adam, exact and float sums). The count
# comes from an LD_PRELOAD shim (tests/alloc/count_alloc.c) that tells calls made from the
# dptrain executable from those made inside libraries; the libraries' per-step calls are printed
# (OpenBLAS's small-matrix kernels allocate a buffer per call on some CPUs).
source "$(dirname "$0")/lib.sh"
SHIM=${COUNT_ALLOC_LIB:?set by ctest}
GRAPH="conv(8,3,pad=1,bias=0) batchnorm relu @a res[ conv(8,3,pad=1) relu ] concat(@a) \
dropout2d(0.1) maxpool(2) linear(32) dropout(0.2) relu linear(classes)"

# counts NP STEPS ARGS...: "own all" summed over the ranks, for a run of STEPS steps of 64.
counts() {
  local np=$1 steps=$2
  shift 2
  rm -f "$WORK/counts"
  COUNT_ALLOC_OUT=$WORK/counts "${MPIRUN[@]}" -np "$np" -x LD_PRELOAD="$SHIM" -x COUNT_ALLOC_OUT \
    "$DPTRAIN" train --data "$DATA" --epochs 1 --train-samples $((steps * 64)) --val 64 \
    --test-samples 64 "$@" >"$WORK/out" 2>&1 || fail "training failed: $(cat "$WORK/out")"
  awk '$1 == "dptrain" { own += $2; all += $3; n++ } END { print own, all, n }' "$WORK/counts"
}

check() {
  local np=$1 a b
  shift
  read -r -a a <<<"$(counts "$np" 10 "$@")"
  read -r -a b <<<"$(counts "$np" 20 "$@")"
  [[ ${a[2]} == "$np" && ${b[2]} == "$np" ]] || fail "expected $np ranks' counts: ${a[*]} / ${b[*]}"
  [[ ${a[0]} == "${b[0]}" ]] ||
    fail "$np rank(s) $*: dptrain allocated ${a[0]} times in 10 steps, ${b[0]} in 20"
  echo "ok: $np rank(s) $*: dptrain's own allocations ${a[0]} in 10 and in 20 steps;" \
    "libraries' $(((b[1] - b[0] - a[1] + a[0]) / 10)) per step"
}

check 1 --model cnn2710 --threads 1
check 1 --model cnn2710 --threads 2
check 2 --model "$GRAPH" --threads 1 --opt adam
check 2 --model "$GRAPH" --threads 2 --reduce float --micro-batch 16
check 1 --model mlp300 --threads 2 --momentum 0.9
echo "PASS"
