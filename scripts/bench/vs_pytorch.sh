#!/usr/bin/env bash
# dptrain against PyTorch (Debian's python3-torch, CPU) on the same cores and the same data:
# training samples/s of one epoch of TRAIN samples for each preset, both at their best
# configuration on this machine (PyTorch at 1 and 2 intra-op threads; dptrain at 1 rank x 2
# threads and 2 ranks x 1 thread). Each of the four is run REPEAT times (default 3), the four
# taking turns, and its best throughput counts: noise from other tenants of a shared machine only
# ever slows a run down. Prints a Markdown table.
#   [REPEAT=R] scripts/bench/vs_pytorch.sh [TRAIN_SAMPLES [MODEL...]]   (default 10000, all four presets)
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
TRAIN=${1:-10000}
REPEAT=${REPEAT:-3}
shift $(($# > 0 ? 1 : 0))
declare -A SETUP=([mlp300]="64 sgd" [cnn2710]="2048 adam" [cnn8-16-32]="64 sgd" [cnn50-100]="128 sgd")
MODELS=("$@")
((${#MODELS[@]})) || MODELS=(mlp300 cnn2710 cnn8-16-32 cnn50-100)
PY=/usr/bin/python3
"$PY" -c 'import torch' 2>/dev/null || { echo "vs_pytorch.sh: missing Python module torch (Debian: python3-torch)" >&2; exit 1; }

dptrain_sps() { # dptrain_sps NP THREADS ARGS...
  local np=$1 threads=$2
  shift 2
  local cmd=(build/dptrain train --epochs 1 --val $((60000 - TRAIN)) --threads "$threads" --json "$@")
  ((np == 1)) || cmd=(mpirun -np "$np" "${cmd[@]}")
  "${cmd[@]}" | tail -n 1 | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["final"]["samples_per_s"]))'
}
torch_sps() { # torch_sps THREADS ARGS...
  local threads=$1
  shift
  "$PY" scripts/bench/torch_train.py --train "$TRAIN" --threads "$threads" "$@" | sed 's/.* s, \([0-9]*\) samples.*/\1/'
}
best() { printf '%s\n' "$@" | sort -n | tail -n 1; }

echo "| model | batch | optimizer | PyTorch 1 thr | PyTorch 2 thr | dptrain 1x2 | dptrain 2x1 | best vs best |"
echo "|---|---|---|---|---|---|---|---|"
for model in "${MODELS[@]}"; do
  [[ -n ${SETUP[$model]:-} ]] || { echo "vs_pytorch.sh: unknown preset $model" >&2; exit 1; }
  set -- "$model" ${SETUP[$model]}
  args=(--model "$1" --batch "$2" --opt "$3")
  t1=() t2=() d12=() d21=()
  for ((r = 0; r < REPEAT; r++)); do
    t1+=("$(torch_sps 1 "${args[@]}")")
    t2+=("$(torch_sps 2 "${args[@]}")")
    d12+=("$(dptrain_sps 1 2 "${args[@]}")")
    d21+=("$(dptrain_sps 2 1 "${args[@]}")")
  done
  t1=$(best "${t1[@]}") t2=$(best "${t2[@]}") d12=$(best "${d12[@]}") d21=$(best "${d21[@]}")
  ratio=$(python3 -c "print('%.2fx' % ($(best "$d12" "$d21") / $(best "$t1" "$t2")))")
  echo "| $1 | $2 | $3 | $t1 | $t2 | $d12 | $d21 | $ratio |"
done
