#!/usr/bin/env bash
# Segmentation training (issue 10): a U-Net on a small make_mnist_seg set gives the same weights
# at 1, 2 and 3 ranks and on 2 threads, also with BatchNorm and with --class-weights balanced;
# 1 + 1 resumed epochs equal 2 straight; the JSON history holds per-epoch F1 and IoU in [0,1].
source "$(dirname "$0")/lib.sh"
start=$SECONDS
"$SCRIPTS/make_mnist_seg" "$DATA" "$WORK/seg" --train 240 --test 60 --size 32 2>"$WORK/make.err" ||
  fail "make_mnist_seg: $(tail -c 300 "$WORK/make.err")"
# 180 training samples in batches of 32 (micro-batches of 8): 5 full batches and one of 20
# (8+8+4), which neither 2 nor 3 ranks share evenly.
COMMON=(--data "$WORK/seg" --val 60 --batch 32 --micro-batch 8 --opt adam --lr 0.003 --json)
train() { local np=$1; shift; "${MPIRUN[@]}" -np "$np" "$DPTRAIN" train "${COMMON[@]}" "$@"; }
# A small U-Net with BatchNorm in the encoder, ending in a 1x1 conv to the 11 classes.
BN_SPEC="conv(8,3,pad=1,bias=0) batchnorm relu @e1 maxpool(2) conv(16,3,pad=1,bias=0) batchnorm relu
  convtranspose(8,2,stride=2) concat(@e1) conv(8,3,pad=1) batchnorm(momentum=0.3) relu conv(11,1)"

# check_invariant NAME ARGS...: 1, 2 and 3 ranks on one thread each, and 1 rank on 2 threads,
# give one param_sha256 (and buffer_sha256: BatchNorm's running statistics).
check_invariant() {
  local name=$1 first="" firstb="" s b
  shift
  for run in 1 2 3 t2; do
    if [[ $run == t2 ]]; then
      train 1 --threads 2 "$@" >"$WORK/$name-$run.json" || fail "$name, 2 threads: $(cat "$WORK/$name-$run.json")"
    else
      train "$run" --threads 1 "$@" >"$WORK/$name-$run.json" || fail "$name at $run ranks"
    fi
    s=$(sha "$WORK/$name-$run.json")
    b=$(json_get "$WORK/$name-$run.json" 'd["buffer_sha256"]')
    [[ -z $first || ($s == "$first" && $b == "$firstb") ]] ||
      fail "$name: run $run gave $s / buffers $b, 1 rank $first / $firstb"
    first=$s firstb=$b
  done
  echo "ok: $name: 1, 2, 3 ranks and 2 threads: $first"
}

# check_metrics FILE EPOCHS: every epoch reports val/test F1 and IoU within [0,1], finite losses.
check_metrics() {
  python3 - "$1" "$2" <<'PY' || fail "$1: history lacks F1/IoU in [0,1]"
import json, math, sys
d = json.loads(open(sys.argv[1]).read().splitlines()[-1])
h = d["history"]
assert len(h) == int(sys.argv[2]), len(h)
for e in h:
    for k in ("val_f1", "val_iou", "test_f1", "test_iou", "val_acc", "test_acc"):
        assert 0 <= e[k] <= 1, (e["epoch"], k, e[k])
    for k in ("train_loss", "val_loss", "test_loss"):
        assert math.isfinite(e[k]) and e[k] > 0, (e["epoch"], k, e[k])
    assert e["val_iou"] <= e["val_f1"] + 1e-6 and e["test_iou"] <= e["test_f1"] + 1e-6, e  # IoU <= F1
assert d["final"]["test_f1"] == h[-1]["test_f1"]
print(f"ok: {sys.argv[1].rsplit('/', 1)[1]}: epoch {h[-1]['epoch']}: val F1 {h[-1]['val_f1']:.4f}"
      f" IoU {h[-1]['val_iou']:.4f}, test F1 {h[-1]['test_f1']:.4f} IoU {h[-1]['test_iou']:.4f}")
PY
}

check_invariant unet --model unet --epochs 1
check_metrics "$WORK/unet-1.json" 1
check_invariant unet-batchnorm --model "$BN_SPEC" --epochs 1
[[ $(json_get "$WORK/unet-batchnorm-1.json" 'd["buffers"]') -gt 0 ]] || fail "BatchNorm spec has no buffers"
check_invariant balanced --model unet --epochs 1 --class-weights balanced
[[ $(json_get "$WORK/balanced-1.json" 'd["config"]["class_weights"]') == balanced ]] ||
  fail "config.class_weights: $(json_get "$WORK/balanced-1.json" 'd["config"]["class_weights"]')"
[[ $(sha "$WORK/balanced-1.json") != $(sha "$WORK/unet-1.json") ]] ||
  fail "--class-weights balanced trained the same weights as none"
check_metrics "$WORK/balanced-1.json" 1

# Exact resume: 2 epochs straight = 1, then 1 more from the checkpoint (on 2 ranks).
train 1 --threads 1 --model "$BN_SPEC" --epochs 2 --out "$WORK/straight" >"$WORK/straight.json"
check_metrics "$WORK/straight.json" 2
train 1 --threads 1 --model "$BN_SPEC" --epochs 1 --out "$WORK/split" >/dev/null
train 2 --threads 1 --model "$BN_SPEC" --epochs 2 --out "$WORK/split" --resume auto >"$WORK/split.json"
[[ $(sha "$WORK/split.json") == $(sha "$WORK/straight.json") ]] || fail "1 + 1 resumed epochs differ from 2 straight"
[[ $(json_get "$WORK/split.json" 'd["buffer_sha256"]') == $(json_get "$WORK/straight.json" 'd["buffer_sha256"]') ]] ||
  fail "resumed: BatchNorm running statistics differ"
python3 - "$WORK/straight.json" "$WORK/split.json" <<'PY' || fail "resumed history differs"
import json, sys
a, b = (json.loads(open(p).read().splitlines()[-1])["history"] for p in sys.argv[1:])
keys = ["epoch", "train_loss", "val_loss", "val_acc", "test_acc", "val_f1", "val_iou", "test_f1", "test_iou"]
assert [[e[k] for k in keys] for e in a] == [[e[k] for k in keys] for e in b], (a, b)
PY
echo "ok: 2 epochs straight = 1 + 1 resumed (on 2 ranks): $(sha "$WORK/split.json")"
echo "PASS in $((SECONDS - start)) s"
