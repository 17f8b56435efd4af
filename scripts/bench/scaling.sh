#!/usr/bin/env bash
# Throughput of dptrain on this machine: ranks x threads, exact vs float reduction, overlap on vs
# off, and the share of training time spent finishing reductions after backward. Prints a
# Markdown table. Timings on a shared machine are noisy: compare rows of one run, side by side.
#   scripts/bench/scaling.sh [TRAIN_SAMPLES]      (default 10000 of the training split)
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
DPTRAIN=build/dptrain
VAL=$((60000 - ${1:-10000}))

row() { # row MODEL BATCH LABEL RANKS THREADS EXTRA...
  local model=$1 batch=$2 label=$3 np=$4 threads=$5
  shift 5
  local cmd=("$DPTRAIN" train --model "$model" --batch "$batch" --epochs 1 --val "$VAL"
    --threads "$threads" --json "$@")
  if ((np > 1)); then cmd=(mpirun -np "$np" "${cmd[@]}"); fi
  "${cmd[@]}" | tail -n 1 | python3 -c '
import json, sys
d = json.load(sys.stdin)
f = d["final"]
wait = 100 * f["reduce_wait_seconds"] / f["seconds"]
print("| %s | %s | %s | %.0f | %.1f%% | %s |" % (sys.argv[1], sys.argv[2], sys.argv[3],
      f["samples_per_s"], wait, d["param_sha256"][:12]))
' "$model" "$batch" "$label"
}

echo "| model | batch | ranks x threads, reduction | samples/s | reduce wait | param_sha256 |"
echo "|---|---|---|---|---|---|"
for mb in "cnn50-100 128" "cnn8-16-32 64"; do
  set -- $mb
  row "$1" "$2" "1 x 1, exact" 1 1
  row "$1" "$2" "1 x 2, exact" 1 2
  row "$1" "$2" "2 x 1, exact, overlap" 2 1
  row "$1" "$2" "2 x 1, exact, no overlap" 2 1 --bucket-kb 0
  row "$1" "$2" "2 x 1, float" 2 1 --reduce float
done
