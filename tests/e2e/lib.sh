# Shared by the end-to-end tests: paths, the checks, and reading dptrain's JSON summary.
set -euo pipefail
DPTRAIN=${DPTRAIN:?set by ctest}
DATA=${DPTRAIN_DATA:?set by ctest}
[[ -f $DATA/train-images-idx3-ubyte || -f $DATA/train-images-idx3-ubyte.gz ]] ||
  { echo "FAIL: no MNIST in $DATA; run scripts/setup.sh" >&2; exit 1; }
SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../scripts" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# json_get FILE EXPR: evaluates a Python expression over the JSON object `d` on FILE's last line.
json_get() {
  python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).read().splitlines()[-1]); print(eval(sys.argv[2]))' "$1" "$2"
}

# expect_error STATUS PATTERN CMD...: CMD must exit with STATUS and print exactly one line on
# standard error, matching PATTERN (grep -E).
expect_error() {
  local status=$1 pattern=$2
  shift 2
  local rc=0
  "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
  [[ $rc == "$status" ]] || fail "$* exited $rc, expected $status; stderr: $(cat "$WORK/err")"
  [[ $(wc -l <"$WORK/err") == 1 ]] || fail "$*: expected one line on stderr, got: $(cat "$WORK/err")"
  grep -Eq -e "$pattern" "$WORK/err" || fail "$*: stderr '$(cat "$WORK/err")' lacks /$pattern/"
  echo "ok: $(cat "$WORK/err")"
}

# wait_for SECONDS FILE PATTERN: waits until a line of FILE matches PATTERN (grep -E); fails,
# showing FILE, if none does in time.
wait_for() {
  local seconds=$1 file=$2 pattern=$3 i
  for ((i = 0; i < seconds * 10; i++)); do
    grep -Eq -e "$pattern" "$file" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "no line /$pattern/ in $file after $seconds s: $(cat "$file" 2>/dev/null)"
}

# term_after_epoch_1 NAME EPOCHS ARGS...: runs `dptrain train ARGS --epochs EPOCHS` as one
# process, sends SIGTERM just after epoch 1's line (so it stops in mid-epoch 2) and checks the
# status is 75; its output is in $WORK/NAME.log and $WORK/NAME.err.
term_after_epoch_1() {
  local name=$1 epochs=$2 pid rc=0
  shift 2
  "$DPTRAIN" train "$@" --epochs "$epochs" >"$WORK/$name.log" 2>"$WORK/$name.err" &
  pid=$!
  wait_for 120 "$WORK/$name.log" "^epoch 1/$epochs"
  sleep 0.2
  kill -TERM "$pid"
  wait "$pid" || rc=$?
  [[ $rc == 75 ]] || fail "$name: stopped run exited $rc, expected 75: $(cat "$WORK/$name.err")"
}

# Open MPI refuses root without these; more ranks than cores needs --oversubscribe.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPIRUN=(mpirun --oversubscribe)

# sha FILE: the param_sha256 of a run's JSON summary.
sha() { json_get "$1" 'd["param_sha256"]'; }

# tiny_experiment FILE [RANKS [DATA]]: an experiment small enough for tests: 2 learning rates x
# 2 seeds, 1 epoch of 5,000 samples (of MNIST, or DATA).
tiny_experiment() {
  cat >"$1" <<INI
[experiment]
name = tiny
description = a small sweep for the tests
seeds = 1-2
ranks = ${2:-1}
[train]
data = ${3:-$DATA}
model = cnn2710
opt = adam
batch = 500
val = 55000
epochs = 1
threads = 1
[grid]
lr = 0.001, 0.01
INI
}

# long_experiment FILE SEEDS RANKS: 3 epochs of 10,000 samples in steps of 100, long enough to
# be stopped in mid-run.
long_experiment() {
  cat >"$1" <<INI
[experiment]
name = long
seeds = $2
ranks = $3
[train]
data = $DATA
model = cnn2710
batch = 100
val = 50000
epochs = 3
threads = 1
INI
}

# check_experiment_outputs DIR: every run's checkpoint, PNGs of the documented pixel sizes, and
# a table whose means are the runs' own final test accuracies.
check_experiment_outputs() {
  local dir=$1
  for lr in 0.001 0.01; do
    for s in 1 2; do
      h5dump -H "$dir/lr=$lr/seed-$s/checkpoint.h5" >/dev/null || fail "no checkpoint for lr=$lr seed $s"
    done
  done
  for png in "curves-lr=0.001" "curves-lr=0.01" spread-epoch spread-batch; do
    [[ $(python3 "$(dirname "${BASH_SOURCE[0]}")/png_size.py" "$dir/$png.png") == 1200x450 ]] || fail "$png.png size"
  done
  [[ $(python3 "$(dirname "${BASH_SOURCE[0]}")/png_size.py" "$dir/sweep.png") == 1500x450 ]] || fail "sweep.png size"
  python3 - "$dir" <<'PY' || fail "table.md does not hold the runs' numbers"
import json, re, sys
d = sys.argv[1]
table = open(f"{d}/table.md").read()
head = next(l for l in table.splitlines() if l.startswith("| configuration |"))
cols = [c.strip() for c in head.strip("|").split("|")]
for lr in ("0.001", "0.01"):
    results = [json.load(open(f"{d}/lr={lr}/seed-{s}/result.json")) for s in (1, 2)]
    accs = [r["final"]["test_acc"] for r in results]
    row = next(l for l in table.splitlines() if l.startswith(f"| lr={lr} |"))
    cell = dict(zip(cols, (c.strip() for c in row.strip("|").split("|"))))
    assert (cell["seeds"], cell["epochs"]) == ("2", "1"), cell
    assert cell["parameters"] == f"{results[0]['params']:,}", (cell, results[0]["params"])
    mean = float(re.match(r"([0-9.]+) ±", cell["test accuracy"]).group(1))
    assert abs(mean - sum(accs) / 2) < 6e-5, (lr, mean, accs)
    print(f"ok: table lr={lr}: {cell['parameters']} parameters, mean test accuracy {mean} of {accs}")
assert "z-score" in table
PY
}
