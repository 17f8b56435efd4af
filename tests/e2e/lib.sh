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

# Open MPI refuses root without these; more ranks than cores needs --oversubscribe.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPIRUN=(mpirun --oversubscribe)

# sha FILE: the param_sha256 of a run's JSON summary.
sha() { json_get "$1" 'd["param_sha256"]'; }
