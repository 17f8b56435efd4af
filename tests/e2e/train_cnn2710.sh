#!/usr/bin/env bash
# One epoch of cnn2710 on real MNIST: >= 90% validation accuracy, and the same weights (to the
# bit) from the same seed at 2 threads and at 1, while another seed gives other weights.
source "$(dirname "$0")/lib.sh"
run() { "$DPTRAIN" train --data "$DATA" --model cnn2710 --epochs 1 --batch 64 --lr 0.05 --json "$@"; }
run --seed 1 --threads 2 >"$WORK/a.json"
cat "$WORK/a.json" | head -n -1
acc=$(json_get "$WORK/a.json" 'd["final"]["val_acc"]')
python3 -c "import sys; sys.exit(0 if $acc >= 0.90 else 1)" || fail "val_acc $acc < 0.90"
echo "ok: val_acc $acc"
run --seed 1 --threads 1 >"$WORK/b.json"
run --seed 2 --threads 2 --val 50000 >"$WORK/c.json"
a=$(json_get "$WORK/a.json" 'd["param_sha256"]')
b=$(json_get "$WORK/b.json" 'd["param_sha256"]')
c=$(json_get "$WORK/c.json" 'd["param_sha256"]')
[[ $a == "$b" ]] || fail "seed 1: 2 threads gave $a, 1 thread $b"
[[ $a != "$c" ]] || fail "seeds 1 and 2 gave the same weights"
echo "ok: param_sha256 $a at 1 and 2 threads"
[[ $(json_get "$WORK/a.json" 'd["params"]') == 2710 ]] || fail "params"
[[ $(json_get "$WORK/a.json" 'len(d["history"])') == 1 ]] || fail "history length"
echo "PASS"
