#!/usr/bin/env bash
# Datasets in every format (issue 9): real MNIST digits written as a PNG folder tree by
# scripts/idx2png and read back with the IDX files' pixels and labels; a short run on the tree
# as accurate as on the IDX files; the HDF5 round trip with the IDX run's weights; a generated
# RGB dataset of 53 named classes trained with cnn002 at 1 and 2 ranks to the same weights, then
# eval, predict and scripts/plot_eval.py on it; Fashion-MNIST converted with its class names.
source "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3 # h5py, numpy and matplotlib are Debian's
FASHION=${DPTRAIN_FASHION:-$(dirname "$DATA")/fashion-mnist}
FASHION_CLASSES=$(dirname "$DATA")/fashion-mnist-classes.txt
[[ -f $FASHION/t10k-images-idx3-ubyte.gz || -f $FASHION/t10k-images-idx3-ubyte ]] ||
  fail "no Fashion-MNIST in $FASHION; run scripts/setup.sh"
[[ -f $FASHION_CLASSES ]] || fail "no $FASHION_CLASSES"
$PY -c 'import h5py, numpy' 2>/dev/null || fail "h5py or numpy missing for $PY"

# One line of `dptrain data info`: the value after the key (e.g. "shape 1x28x28 (...)").
info_field() { sed -n "s/^$2 *//p" <<<"$1" | head -1; }

# (a) The real MNIST test set and the first 6,000 training images (writing all 70,000 PNGs takes
# half a minute of this machine's budget) as IDX files, then as a PNG tree by scripts/idx2png.
$PY - "$DATA" "$WORK/idx" <<'PY'
import gzip, os, struct, sys
src, out = sys.argv[1], sys.argv[2]
os.makedirs(out)
def read(name):
    for path, opener in ((os.path.join(src, name), open), (os.path.join(src, name + ".gz"), gzip.open)):
        if os.path.exists(path):
            with opener(path, "rb") as f:
                return f.read()
    sys.exit(f"no {name} in {src}")
for prefix, n in (("train", 6000), ("t10k", 10000)):
    images, labels = read(f"{prefix}-images-idx3-ubyte"), read(f"{prefix}-labels-idx1-ubyte")
    with gzip.open(f"{out}/{prefix}-images-idx3-ubyte.gz", "wb", compresslevel=1) as f:
        f.write(struct.pack(">IIII", 0x803, n, 28, 28) + images[16:16 + 784 * n])
    with gzip.open(f"{out}/{prefix}-labels-idx1-ubyte.gz", "wb", compresslevel=1) as f:
        f.write(struct.pack(">II", 0x801, n) + labels[8:8 + n])
PY
start=$SECONDS
"$SCRIPTS/idx2png" "$WORK/idx" "$WORK/png" 2>"$WORK/idx2png.err" ||
  fail "idx2png: $(tail -c 300 "$WORK/idx2png.err")"
[[ $(find "$WORK/png/Train" -name '*.png' | wc -l) == 6000 &&
  $(find "$WORK/png/Test" -name '*.png' | wc -l) == 10000 ]] || fail "idx2png wrote the wrong number of files"
echo "ok: idx2png wrote 16,000 PNGs in $((SECONDS - start)) s"

"$DPTRAIN" data convert "$WORK/png" "$WORK/png.h5" >"$WORK/convert.log" || fail "convert of the PNG tree"
"$DPTRAIN" data convert "$WORK/idx" "$WORK/idx.h5" >/dev/null || fail "convert of the IDX subset"
# The tree holds the IDX files' (label, pixels) pairs: the same multiset in each split (the
# tree lists samples class by class), and, sorted stably by label, the same arrays (idx2png
# names files by IDX position and the reader takes a class's files in name order).
$PY - "$WORK/idx.h5" "$WORK/png.h5" <<'PY' || fail "the PNG tree's samples differ from the IDX files'"
import hashlib, sys
import h5py, numpy as np
idx, png = (h5py.File(p, "r") for p in sys.argv[1:])
for split in ("train", "test"):
    a_img, a_lab = np.asarray(idx[f"{split}/images"]), np.asarray(idx[f"{split}/labels"])
    b_img, b_lab = np.asarray(png[f"{split}/images"]), np.asarray(png[f"{split}/labels"])
    n = len(a_lab)
    assert len(b_lab) == n and len(a_img) == len(b_img) == n, (split, a_img.shape, b_img.shape)
    a_img, b_img = a_img.reshape(n, -1), b_img.reshape(n, -1)  # N x H x W or N x 1 x H x W
    assert a_img.shape[1] == b_img.shape[1] == 784, (a_img.shape, b_img.shape)
    def digest(img, lab):
        pairs = sorted(int(l).to_bytes(4, "little") + img[i].tobytes() for i, l in enumerate(lab))
        return hashlib.sha256(b"".join(pairs)).hexdigest()
    da, db = digest(a_img, a_lab), digest(b_img, b_lab)
    assert da == db, f"{split}: multiset of (label, pixels): IDX {da}, PNG tree {db}"
    order = np.argsort(a_lab, kind="stable")
    assert (a_lab[order] == b_lab).all() and (a_img[order] == b_img).all(), \
        f"{split}: same samples, but not in IDX order within each class"
    print(f"ok: {split}: {n} samples, (label, pixels) sha256 {da[:16]}... in both")
PY
idx_info=$("$DPTRAIN" data info "$WORK/idx")
png_info=$("$DPTRAIN" data info "$WORK/png")
for key in shape images; do
  [[ $(info_field "$idx_info" $key) == "$(info_field "$png_info" $key)" ]] ||
    fail "data info $key: IDX '$(info_field "$idx_info" $key)', PNG '$(info_field "$png_info" $key)'"
done
[[ $(info_field "$idx_info" classes) =~ ^10(,|:) && $(info_field "$png_info" classes) =~ ^10(,|:) ]] ||
  fail "data info classes: IDX '$(info_field "$idx_info" classes)', PNG '$(info_field "$png_info" classes)'"
grep -q "^format.*PNG" <<<"$png_info" || fail "data info on the tree: $(head -2 <<<"$png_info")"
grep -Eq "^sha256 +[0-9a-f]{64}$" <<<"$png_info" || fail "data info prints no sha256"
echo "ok: data info: $(info_field "$png_info" shape), $(info_field "$png_info" images) in both"
# Conversion keeps order and names, so the digest.
same_sha() {
  local want got
  want=$(info_field "$2" sha256)
  got=$(info_field "$("$DPTRAIN" data info "$1")" sha256)
  [[ $got == "$want" ]] || fail "data info sha256: $1 $got, its source $want"
}
same_sha "$WORK/png.h5" "$png_info"
same_sha "$WORK/idx.h5" "$idx_info"
echo "ok: the converted files have their sources' sha256"

# (b) The same short run on the PNG tree and on the IDX files: 5,500 training samples (their
# validation samples differ: the tree's order is another), test accuracies within 0.02.
SHORT=(--model cnn2710 --epochs 1 --val 500 --batch 50 --opt adam --lr 0.01 --threads 1 --json)
"$DPTRAIN" train --data "$WORK/png" "${SHORT[@]}" --out "$WORK/run-png" >"$WORK/png.json"
"$DPTRAIN" train --data "$WORK/idx" "${SHORT[@]}" --out "$WORK/run-idx" >"$WORK/idx.json"
python3 - "$WORK/png.json" "$WORK/idx.json" <<'PY' || fail "PNG and IDX runs' accuracies or standardization"
import json, sys
runs = [json.loads(open(p).read().splitlines()[-1]) for p in sys.argv[1:]]
for d in runs:  # --norm auto: MNIST's values for one-channel 28x28 data in any format
    c = d["config"]
    assert len(c["mean"]) == len(c["std"]) == 1, (c["mean"], c["std"])
    assert [round(c["mean"][0], 4), round(c["std"][0], 4)] == [0.1307, 0.3081], (c["mean"], c["std"])
png, idx = (d["final"]["test_acc"] for d in runs)
print(f"ok: test accuracy after 1 epoch: PNG tree {png:.4f}, IDX {idx:.4f}; both standardized "
      "with MNIST's 0.1307/0.3081")
assert png > 0.85 and idx > 0.85 and abs(png - idx) <= 0.02
PY

# (c) HDF5 round trip: the converted MNIST trains to the IDX run's weights, and is the same data.
"$DPTRAIN" data convert "$DATA" "$WORK/mnist.h5" >/dev/null || fail "convert of $DATA"
RT=(--model cnn2710 --epochs 1 --train-samples 3000 --val 5000 --batch 100 --threads 1 --json)
"$DPTRAIN" train --data "$DATA" "${RT[@]}" --out "$WORK/rt-idx" >"$WORK/rt-idx.json"
"$DPTRAIN" train --data "$WORK/mnist.h5" "${RT[@]}" --out "$WORK/rt-h5" >"$WORK/rt-h5.json"
a=$(json_get "$WORK/rt-idx.json" 'd["config"]["data_sha256"]')
b=$(json_get "$WORK/rt-h5.json" 'd["config"]["data_sha256"]')
[[ $a == "$b" ]] || fail "data_sha256: IDX $a, converted HDF5 $b"
[[ $(sha "$WORK/rt-h5.json") == $(sha "$WORK/rt-idx.json") ]] ||
  fail "param_sha256: converted HDF5 $(sha "$WORK/rt-h5.json"), IDX $(sha "$WORK/rt-idx.json")"
[[ $(info_field "$("$DPTRAIN" data info "$WORK/mnist.h5")" sha256) == "$a" ]] || fail "data info sha256 of mnist.h5"
echo "ok: IDX and converted HDF5: same data_sha256 and param_sha256 $(sha "$WORK/rt-h5.json")"

# (d) 53 RGB classes with names, 15 training and 4 test images each: cnn002 reads 3 channels and
# ends in linear(53); 1 and 2 ranks give the same weights. One epoch reaches about 0.78 (two:
# 0.93), 40 times chance.
python3 "$HERE/make_rgb_dataset.py" "$WORK/rgb" --classes 53 --train 15 --test 4
RGB=(--data "$WORK/rgb" --model cnn002 --epochs 1 --val 53 --batch 10 --opt adam --lr 0.0015
  --threads 1 --json)
"$DPTRAIN" train "${RGB[@]}" --out "$WORK/rgb1" >"$WORK/rgb1.json"
"${MPIRUN[@]}" -np 2 "$DPTRAIN" train "${RGB[@]}" --out "$WORK/rgb2" >"$WORK/rgb2.json"
[[ $(sha "$WORK/rgb1.json") == $(sha "$WORK/rgb2.json") ]] ||
  fail "RGB cnn002: 1 rank $(sha "$WORK/rgb1.json"), 2 ranks $(sha "$WORK/rgb2.json")"
python3 - "$WORK/rgb1.json" <<'PY' || fail "RGB run's summary"
import json, sys
d = json.loads(open(sys.argv[1]).read().splitlines()[-1])
c, acc = d["config"], d["final"]["test_acc"]
assert c["classes"] == 53, c["classes"]
assert len(c["mean"]) == 3 and len(c["std"]) == 3, (c["mean"], c["std"])
assert all(abs(m - 0.1307) > 0.05 for m in c["mean"]), c["mean"]  # auto: computed for RGB
assert "linear(53)" in c["model_spec"], c["model_spec"]
assert d["params"] == 92533, d["params"]  # the preset's comment: 3 channels in, 53 classes out
print(f"ok: RGB cnn002, 1 and 2 ranks: {d['param_sha256'][:16]}..., test accuracy {acc:.4f} "
      f"(chance 0.019), mean {c['mean']}, std {c['std']}")
assert acc > 0.5, acc
PY
# Converted, the RGB tree is N x 3 x 28 x 28 with its 53 names, and the same data.
"$DPTRAIN" data convert "$WORK/rgb" "$WORK/rgb.h5" >/dev/null || fail "convert of the RGB tree"
same_sha "$WORK/rgb.h5" "$("$DPTRAIN" data info "$WORK/rgb")"
$PY - "$WORK/rgb.h5" <<'PY' || fail "rgb.h5's layout"
import sys
import h5py
with h5py.File(sys.argv[1], "r") as f:
    assert f["train/images"].shape == (795, 3, 28, 28), f["train/images"].shape
    assert f["test/images"].shape == (212, 3, 28, 28), f["test/images"].shape
    assert len(f["classes"]) == 53
print("ok: rgb.h5: /train/images 795x3x28x28, /test/images 212x3x28x28, 53 /classes, same sha256")
PY
ckpt=$WORK/rgb1/seed-1/checkpoint.h5
$PY - "$ckpt" <<'PY' || fail "RGB checkpoint's /meta and /model"
import sys
import h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    mean, std = np.atleast_1d(f["meta"].attrs["mean"]), np.atleast_1d(f["meta"].attrs["std"])
    assert mean.shape == (3,) and std.shape == (3,), (mean, std)
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in f["model"].attrs["class_names"]]
    assert len(names) == 53 and names[0] == "c00-red-hstripes" and names[52] == "c52-magenta-frame", names
    assert int(f["model"].attrs["input_channels"]) == 3
print("ok: checkpoint: /meta mean and std of 3 channels, /model 53 class_names, 3 input channels")
PY
"$DPTRAIN" eval "$ckpt" >"$WORK/rgb-eval" || fail "eval of the RGB checkpoint"
for name in "$WORK"/rgb/Train/*/; do
  name=$(basename "$name")
  grep -Eq "^ +[0-9]+ $name +[0-9]" "$WORK/rgb-eval" || fail "eval does not show class $name: $(cat "$WORK/rgb-eval")"
done
[[ -f $WORK/rgb1/seed-1/eval-test.h5 ]] || fail "no eval-test.h5 beside the checkpoint"
echo "ok: eval (on the data it was trained on) shows all 53 class names: $(head -1 "$WORK/rgb-eval")"
$PY - "$WORK/rgb1/seed-1/eval-test.h5" <<'PY' || fail "eval-test.h5 of the RGB run"
import sys
import h5py
with h5py.File(sys.argv[1], "r") as f:
    g = f["eval"]
    assert len(g.attrs["class_names"]) == 53
    n = len(g["misclassified/index"])
    assert g["misclassified/images"].shape == (n, 3, 28, 28), g["misclassified/images"].shape
    assert g["misclassified/images"].dtype == "uint8"
    print(f"ok: eval file: 53 class_names, {n} misclassified images of 3x28x28")
PY
out=$("$DPTRAIN" predict "$ckpt" "$WORK/rgb/Test/c17-green-square/0001.png") || fail "predict on an RGB image"
grep -Eq "0001.png: class c[0-9]{2}-[a-z]+-[a-z]+ \(p=" <<<"$out" || fail "predict printed: $out"
echo "ok: predict: ${out%% |*}"
python3 "$HERE/make_png.py" "$DATA/t10k-images-idx3-ubyte" "$DATA/t10k-labels-idx1-ubyte" 0 "$WORK/digit.png" >/dev/null
expect_error 1 "digit.png: .*(gray|grey).*3x28x28" "$DPTRAIN" predict "$ckpt" "$WORK/digit.png"

# (f) The plots of the RGB run's eval file: confusion of 53 classes, RGB misclassified images.
python3 "$SCRIPTS/plot_eval.py" "$WORK/rgb1/seed-1/eval-test.h5" >/dev/null || fail "plot_eval.py"
for png in confusion-test misclassified-test; do
  size=$(python3 "$HERE/png_size.py" "$WORK/rgb1/seed-1/$png.png") || fail "$png.png"
  echo "ok: plot_eval.py wrote $png.png, $size"
done

# (e) Fashion-MNIST, converted with its class names: eval shows them.
"$DPTRAIN" data convert "$FASHION" "$WORK/fashion.h5" --classes "@$FASHION_CLASSES" >/dev/null ||
  fail "convert of Fashion-MNIST"
grep -q "Ankle boot" <<<"$("$DPTRAIN" data info "$WORK/fashion.h5")" || fail "data info of fashion.h5 names no Ankle boot"
"$DPTRAIN" train --data "$WORK/fashion.h5" --model cnn2710 --epochs 1 --train-samples 2000 --val 500 \
  --batch 50 --opt adam --lr 0.01 --threads 1 --json --out "$WORK/fashion" >"$WORK/fashion.json"
"$DPTRAIN" eval "$WORK/fashion/seed-1/checkpoint.h5" >"$WORK/fashion-eval" || fail "eval of the Fashion-MNIST run"
for row in "0 T-shirt/top" "1 Trouser" "8 Bag" "9 Ankle boot"; do
  grep -Eq "^ +${row} +[0-9]" "$WORK/fashion-eval" || fail "eval has no row '$row': $(cat "$WORK/fashion-eval")"
done
echo "ok: Fashion-MNIST: $(head -1 "$WORK/fashion-eval" | sed 's/.*: loss/loss/')"
echo "PASS"
