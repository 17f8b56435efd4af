#!/usr/bin/env bash
# The main job: set up this machine (scripts/setup.sh), then train seed 000's cnn2710 setup
# (Adam, lr 0.01, batch 2048, exponential decay 0.95, 5 epochs) for three seeds on two MPI ranks,
# results in runs/quickstart/seed-<s>/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun --oversubscribe -np 2 build/dptrain train --model cnn2710 --opt adam --lr 0.01 \
  --batch 2048 --sched exp:0.95 --epochs 5 --seeds 1-3 --ranks-per-seed 2 --out runs/quickstart
echo "results: runs/quickstart/seed-{1,2,3}/result.json"
