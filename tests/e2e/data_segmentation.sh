#!/usr/bin/env bash
# Segmentation datasets (issue 10): scripts/make_mnist_seg writes the same bytes twice; `dptrain
# data info` reads the folders as 11 named classes with per-class pixel counts; the HDF5
# conversion keeps the sha256 and holds masks, not labels; each bad dataset gets one line naming
# the file and the problem.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3 # h5py and numpy are Debian's
$PY -c 'import h5py, numpy' 2>/dev/null || fail "h5py or numpy missing for $PY"
INFO=("$DPTRAIN" data info)
info_field() { sed -n "s/^$2 *//p" <<<"$1" | head -1; }

# (a) The generator: twice the same files, and the same sha256.
start=$SECONDS
for run in 1 2; do
  "$SCRIPTS/make_mnist_seg" "$DATA" "$WORK/seg$run" --train 300 --test 100 --seed 7 \
    2>"$WORK/make$run.err" || fail "make_mnist_seg: $(tail -c 300 "$WORK/make$run.err")"
done
diff -r "$WORK/seg1" "$WORK/seg2" >/dev/null || fail "make_mnist_seg wrote different files twice"
info=$("${INFO[@]}" "$WORK/seg1") || fail "data info on make_mnist_seg's folders"
[[ $(info_field "$info" sha256) == $(info_field "$("${INFO[@]}" "$WORK/seg2")" sha256) ]] ||
  fail "two runs of make_mnist_seg: different sha256"
echo "ok: make_mnist_seg twice in $((SECONDS - start)) s: the same files, sha256 $(info_field "$info" sha256)"
"$SCRIPTS/make_mnist_seg" "$DATA" "$WORK/seg3" --train 300 --test 100 --seed 8 2>/dev/null
[[ $(info_field "$info" sha256) != $(info_field "$("${INFO[@]}" "$WORK/seg3")" sha256) ]] ||
  fail "--seed 8 made the same set as --seed 7"
expect_error 1 "$WORK/seg1/train: already exists" "$SCRIPTS/make_mnist_seg" "$DATA" "$WORK/seg1"
expect_error 1 "$WORK/none: not a folder" "$SCRIPTS/make_mnist_seg" "$WORK/none" "$WORK/x"
expect_error 2 "--size: 20: expected 28" "$SCRIPTS/make_mnist_seg" "$DATA" "$WORK/x" --size 20

# (b) data info: the format, the task, 11 named classes, a pixel count per class.
grep -q "^format *PNG segmentation folders" <<<"$info" || fail "data info format: $(grep ^format <<<"$info")"
grep -q "^task *segmentation$" <<<"$info" || fail "data info task: $(grep ^task <<<"$info")"
grep -q "^images *300 training, 100 test, each with its mask$" <<<"$info" || fail "$(grep ^images <<<"$info")"
grep -q "^shape *1x64x64 " <<<"$info" || fail "data info shape: $(grep ^shape <<<"$info")"
grep -q "^classes *11: background, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9$" <<<"$info" ||
  fail "data info classes: $(grep ^classes <<<"$info")"
# The table's pixels add up to every pixel of each split; background holds most; every digit
# class appears in the training masks.
awk '$1 ~ /^[0-9]+$/ && NF == 4 { n++; tr += $2; te += $3; if ($1 > 0 && $2 == 0) bad = 1 }
     $1 == 0 { bg = $2 }
     END { exit !(n == 11 && tr == 300 * 4096 && te == 100 * 4096 && bg > tr / 2 && !bad) }' \
  <<<"$info" || fail "data info's pixel table: $info"
echo "ok: data info: 11 named classes, training and test pixels per class add up to 300 and 100 canvases"

# The images are real digits pasted on black, the masks their strokes (>= 128) labelled 1-10.
$PY - "$WORK/seg1" <<'PY' || fail "the canvases do not match their masks"
import glob, os, sys
import numpy as np
from PIL import Image
d = sys.argv[1]
for split in ("train", "test"):
    for f in sorted(glob.glob(f"{d}/{split}/images/*.png"))[:50]:
        im = np.asarray(Image.open(f))
        mask = np.asarray(Image.open(f.replace("/images/", "/masks/")))
        assert im.shape == mask.shape == (64, 64) and mask.max() <= 10, f
        assert ((mask > 0) == (im >= 128)).all(), f
        assert 1 <= len(np.unique(mask[mask > 0])) <= 3, f
print("ok: 100 canvases: mask > 0 exactly where the image is >= 128, 1 to 3 digit classes each")
PY

# (c) HDF5: the converted set has the same sha256, masks and no labels.
"$DPTRAIN" data convert "$WORK/seg1" "$WORK/seg.h5" >"$WORK/convert.log" || fail "convert"
grep -q "with masks, 11 classes (named)" "$WORK/convert.log" || fail "convert says: $(cat "$WORK/convert.log")"
h5info=$("${INFO[@]}" "$WORK/seg.h5") || fail "data info on the converted file"
[[ $(info_field "$h5info" sha256) == $(info_field "$info" sha256) ]] ||
  fail "sha256: converted $(info_field "$h5info" sha256), folders $(info_field "$info" sha256)"
$PY - "$WORK/seg.h5" <<'PY' || fail "the converted file's layout"
import sys
import h5py
with h5py.File(sys.argv[1], "r") as f:
    assert f["train/masks"].shape == (300, 64, 64) and f["train/masks"].dtype == "uint8"
    assert f["test/masks"].shape == (100, 64, 64) and "labels" not in f["train"]
    assert [c.decode() for c in f["classes"][:]] == ["background"] + [str(d) for d in range(10)]
print("ok: seg.h5: /train/masks 300x64x64 uint8, /test/masks 100x64x64, 11 /classes, no labels")
PY
echo "ok: the HDF5 conversion has the folders' sha256"

# (d) Bad datasets: tiny sets of 8x8 canvases (3 training, 2 test), one defect each.
W=$WORK/bad
$PY - "$SCRIPTS" "$W" <<'PY'
import os, shutil, sys
sys.path.insert(0, sys.argv[1])  # scripts/pngwrite.py
from pngwrite import solid, write_png
import h5py, numpy as np
W = sys.argv[2]

def seg(name, classes=True, splits=("train", "test")):
    for split in splits:
        for kind in ("images", "masks"):
            os.makedirs(f"{W}/{name}/{split}/{kind}", exist_ok=True)
        for i in range(3 if split == "train" else 2):
            write_png(f"{W}/{name}/{split}/images/{i}.png", 8, 8, 1, solid(8, 8, 1, 40 * i))
            write_png(f"{W}/{name}/{split}/masks/{i}.png", 8, 8, 1, solid(8, 8, 1, i))
    if classes:
        with open(f"{W}/{name}/classes.txt", "w") as f:
            f.write("sky\nroad\ncar\n")
    return f"{W}/{name}"

seg("good")
seg("unnamed", classes=False)
os.remove(f"{seg('no-mask')}/train/masks/1.png")
write_png(f"{seg('no-image')}/test/masks/7.png", 8, 8, 1, solid(8, 8, 1))
write_png(f"{seg('mask-size')}/train/masks/2.png", 9, 7, 1, solid(9, 7, 1, 1))
write_png(f"{seg('rgb-mask')}/test/masks/1.png", 8, 8, 3, solid(8, 8, 3, 1))
rows = [bytes(8)] * 8
rows[5] = bytes([0, 0, 0, 3, 0, 0, 0, 0])  # class 3 of 3 names, at row 5, column 3
write_png(f"{seg('value')}/test/masks/1.png", 8, 8, 1, rows)
d = seg("empty")
for f in os.listdir(f"{d}/test/images"):
    os.remove(f"{d}/test/images/{f}")
shutil.rmtree(f"{seg('no-test-masks')}/test/masks")
seg("no-test", splits=("train",))
with open(f"{seg('blank')}/classes.txt", "w") as f:
    f.write("sky\n\nroad\n")
write_png(f"{seg('image-size')}/train/images/2.png", 8, 9, 1, solid(8, 9, 1))

def h5(name, train_targets="masks", test_targets="masks", classes=("sky", "road", "car"), **arrays):
    rng = np.random.default_rng(0)
    data = {"train/images": rng.integers(0, 256, (3, 8, 8), dtype=np.uint8),
            "test/images": rng.integers(0, 256, (2, 8, 8), dtype=np.uint8),
            f"train/{train_targets}": rng.integers(0, 3, (3, 8, 8), dtype=np.uint8),
            f"test/{test_targets}": rng.integers(0, 3, (2, 8, 8), dtype=np.uint8)}
    data.update({k.replace("_", "/", 1): v for k, v in arrays.items()})
    with h5py.File(f"{W}/{name}", "w") as f:
        for k, v in data.items():
            f[k] = v
        if classes:
            f["classes"] = np.array(classes, dtype=h5py.string_dtype())

h5("good.h5")
h5("both.h5", train_labels=np.zeros(3, np.int32))
h5("mixed.h5", test_targets="labels", test_labels=np.zeros(2, np.int32))
h5("int-masks.h5", train_masks=np.zeros((3, 8, 8), np.int32))
h5("mask-shape.h5", test_masks=np.zeros((2, 8, 7), np.uint8))
beyond = np.zeros((2, 8, 8), np.uint8)
beyond[1, 2, 6] = 5
h5("beyond.h5", test_masks=beyond)
h5("unnamed.h5", classes=None, train_masks=np.full((3, 8, 8), 6, np.uint8))
PY

out=$("${INFO[@]}" "$W/good") || fail "data info on a good set"
grep -q "^classes *3: sky, road, car$" <<<"$out" || fail "classes.txt: $(grep ^classes <<<"$out")"
out=$("${INFO[@]}" "$W/unnamed") || fail "data info on a set without classes.txt"
grep -q "^classes *3, unnamed$" <<<"$out" || fail "without classes.txt: $(grep ^classes <<<"$out")"
out=$("${INFO[@]}" "$W/unnamed.h5") || fail "data info on masks without /classes"
grep -q "^classes *7, unnamed$" <<<"$out" || fail "masks without /classes: $(grep ^classes <<<"$out")"
grep -q "^task *segmentation$" <<<"$("${INFO[@]}" "$W/good.h5")" || fail "good.h5 is not segmentation"
echo "ok: classes from classes.txt, /classes, or 1 + the largest mask value"

expect_error 1 "$W/no-mask/train/images/1.png: no mask \(no $W/no-mask/train/masks/1.png\)" "${INFO[@]}" "$W/no-mask"
expect_error 1 "$W/no-image/test/masks/7.png: no image" "${INFO[@]}" "$W/no-image"
expect_error 1 "$W/mask-size/train/masks/2.png: 7x9, but its image $W/mask-size/train/images/2.png is 8x8" "${INFO[@]}" "$W/mask-size"
expect_error 1 "$W/rgb-mask/test/masks/1.png: an RGB image \(3 channels\); a mask holds one 8-bit class index" "${INFO[@]}" "$W/rgb-mask"
expect_error 1 "$W/value/test/masks/1.png: value 3 at row 5, column 3, outside the 3 classes of $W/value/classes.txt" "${INFO[@]}" "$W/value"
expect_error 1 "$W/empty/test/images: no .png images" "${INFO[@]}" "$W/empty"
expect_error 1 "$W/no-test-masks/test: no masks/ folder" "${INFO[@]}" "$W/no-test-masks"
expect_error 1 "$W/no-test: no test/ folder" "${INFO[@]}" "$W/no-test"
expect_error 1 "$W/blank/classes.txt:2: blank line" "${INFO[@]}" "$W/blank"
expect_error 1 "$W/image-size/train/images/2.png: 1x9x8 \(gray\), but $W/image-size/train/images/0.png is 1x8x8" "${INFO[@]}" "$W/image-size"
expect_error 1 "$W/both.h5: holds both /train/labels and /train/masks" "${INFO[@]}" "$W/both.h5"
expect_error 1 "$W/mixed.h5: /train/masks but /test/labels; both splits hold labels" "${INFO[@]}" "$W/mixed.h5"
expect_error 1 "$W/int-masks.h5: /train/masks is int32; expected uint8" "${INFO[@]}" "$W/int-masks.h5"
expect_error 1 "$W/mask-shape.h5: /test/masks is 2x8x7 but /test/images are 2 images of 8x8" "${INFO[@]}" "$W/mask-shape.h5"
expect_error 1 "$W/beyond.h5: /test/masks\[1\] has value 5 at row 2, column 6, outside the 3 classes of /classes" "${INFO[@]}" "$W/beyond.h5"

# A classifier cannot train on segmentation data, nor evaluate it: one line says why.
expect_error 1 "model spec: segmentation needs the last layer to give" \
  "$DPTRAIN" train --data "$W/good" --model cnn2710 --val 1 --epochs 1
"$DPTRAIN" train --data "$DATA" --model cnn2710 --epochs 1 --train-samples 500 --val 1000 \
  --threads 1 --out "$WORK/mnist" >/dev/null 2>&1 || fail "the MNIST run for eval"
expect_error 1 "$W/good.h5: a segmentation dataset \(masks, not labels\); the model is a classifier" \
  "$DPTRAIN" eval "$WORK/mnist/seed-1/checkpoint.h5" --data "$W/good.h5"
echo "PASS"
