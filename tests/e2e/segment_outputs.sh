#!/usr/bin/env bash
# Segmentation outputs (issue 10): a tiny U-Net trained one epoch on make_mnist_seg's canvases,
# then `dptrain eval` (the per-class F1 table, /eval/f1 and /eval/examples), `dptrain predict`
# (the mask and overlay PNGs) and scripts/plot_eval.py (segmentation-test.png).
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3 # h5py and numpy are Debian's
start=$SECONDS

"$SCRIPTS/make_mnist_seg" "$DATA" "$WORK/seg" --train 200 --test 60 --size 32 \
  2>"$WORK/make.err" >/dev/null || fail "make_mnist_seg: $(tail -c 300 "$WORK/make.err")"
"$DPTRAIN" train --data "$WORK/seg" --model unet --val 50 --epochs 1 --opt adam --lr 0.003 \
  --out "$WORK/run" >"$WORK/train.log" 2>&1 || fail "training the U-Net: $(tail -3 "$WORK/train.log")"
ckpt=$WORK/run/seed-1/checkpoint.h5
echo "ok: make_mnist_seg and one U-Net epoch in $((SECONDS - start)) s"

# eval: the summary line, the per-class table with every class, the pixel confusion matrix.
"$DPTRAIN" eval "$ckpt" >"$WORK/eval" 2>&1 || fail "eval: $(cat "$WORK/eval")"
grep -Eq "on test \(60 samples, 61440 pixels\): per-pixel loss [0-9.]+, pixel accuracy [0-9.]+, mean F1 [0-9.]+, mean IoU [0-9.]+$" \
  "$WORK/eval" || fail "eval summary line: $(head -1 "$WORK/eval")"
grep -q "^class name *F1 *IoU *labelled pixels$" "$WORK/eval" || fail "no per-class table: $(cat "$WORK/eval")"
grep -Eq "^ +0 background +([0-9.]+|-) +([0-9.]+|-) +[0-9]+$" "$WORK/eval" ||
  fail "no background row in the per-class table: $(cat "$WORK/eval")"
for c in 1 10; do
  grep -Eq "^ +$c $((c - 1)) +([0-9.]+|-) +([0-9.]+|-) +[0-9]+$" "$WORK/eval" ||
    fail "no row for class $c in the per-class table: $(cat "$WORK/eval")"
done
grep -q "^confusion (rows: label, columns: predicted class number)$" "$WORK/eval" ||
  fail "no confusion matrix: $(cat "$WORK/eval")"
echo "ok: eval: $(head -1 "$WORK/eval")"
$PY - "$WORK/run/seed-1/eval-test.h5" <<'PY' || fail "eval-test.h5 of the U-Net"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    g = f["eval"]
    assert g.attrs["task"] in (b"segment", "segment"), g.attrs["task"]
    for key in ("loss", "accuracy", "mean_f1", "mean_iou"):
        assert key in g.attrs, key
    assert g["f1"].shape == (11,) and g["iou"].shape == (11,), (g["f1"].shape, g["iou"].shape)
    assert g["confusion"].shape == (11, 11) and int(np.sum(g["confusion"])) == 60 * 32 * 32
    e = g["examples"]
    assert e["images"].shape == (8, 1, 32, 32), e["images"].shape
    assert e["masks"].shape == e["predicted"].shape == (8, 32, 32)
    assert int(np.max(e["masks"])) < 11 and int(np.max(e["predicted"])) < 11
    assert "misclassified" not in g
    print("ok: eval file: task segment, 11 F1 and IoU values, 8 examples of 1x32x32")
PY

# predict: a gray mask of the image's size holding class indices, and an RGB overlay.
image=$WORK/seg/test/images/00000.png
"$DPTRAIN" predict "$ckpt" "$image" --out "$WORK/pred" >"$WORK/predict" 2>&1 ||
  fail "predict: $(cat "$WORK/predict")"
grep -Eq "^$image:( [^ ]+:[0-9]+)+ \| $WORK/pred/00000-mask.png $WORK/pred/00000-overlay.png$" \
  "$WORK/predict" || fail "predict line: $(cat "$WORK/predict")"
$PY - "$WORK/pred" <<'PY' || fail "predict's PNGs"
import sys
import numpy as np
from PIL import Image
mask = Image.open(sys.argv[1] + "/00000-mask.png")
assert mask.mode == "L" and mask.size == (32, 32), (mask.mode, mask.size)
assert int(np.max(np.asarray(mask))) < 11, int(np.max(np.asarray(mask)))
overlay = Image.open(sys.argv[1] + "/00000-overlay.png")
assert overlay.mode == "RGB" and overlay.size == (32, 32), (overlay.mode, overlay.size)
print("ok: predict: 32x32 8-bit gray mask with classes < 11, 32x32 RGB overlay")
PY

# plot_eval.py: the confusion plot and the grid of images, true and predicted masks.
python3 "$SCRIPTS/plot_eval.py" "$WORK/run/seed-1/eval-test.h5" >"$WORK/plot" 2>&1 ||
  fail "plot_eval.py: $(cat "$WORK/plot")"
for f in confusion-test.png segmentation-test.png; do
  [[ -s $WORK/run/seed-1/$f ]] || fail "plot_eval.py wrote no $f: $(cat "$WORK/plot")"
done
echo "ok: plot_eval.py: confusion-test.png and segmentation-test.png"
echo "ok: segment_outputs in $((SECONDS - start)) s"
