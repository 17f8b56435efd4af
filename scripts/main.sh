#!/usr/bin/env bash
# The main job: set up this machine (scripts/setup.sh), then train seed 000's final cnn2710 setup
# (Adam, lr 0.01, batch 2048, exponential decay 0.95, 5 epochs) for three seeds on two MPI ranks
# each (scripts/experiments/quickstart.ini), leaving HDF5 checkpoints in runs/quickstart/seed-*/
# and the spread plot, learning curves and table in runs/quickstart/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/spread scripts/experiments/quickstart.ini
