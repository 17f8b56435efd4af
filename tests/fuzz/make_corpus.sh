#!/usr/bin/env bash
# Rewrites the committed seed corpora, tests/fuzz/corpus/<harness>/: the text and image ones with
# make_corpus.py, the HDF5 ones with a built dptrain and h5py: small valid datasets (dptrain data
# convert of tiny IDX, PNG-tree and segmentation sets; h5py files in the layouts dptrain does not
# write itself) and small valid checkpoints (one epoch of a few models on them, and the linear
# MNIST model of the issue). Every file stays well under 100 KB. Needs data/mnist.
#   tests/fuzz/make_corpus.sh [DPTRAIN]       DPTRAIN: build/dptrain by default
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
dptrain=$(realpath "${1:-$repo/build/dptrain}")
corpus=$repo/tests/fuzz/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
py=/usr/bin/python3

rm -rf "$corpus"
"$py" "$repo/tests/fuzz/make_corpus.py" "$repo" "$dptrain"
mkdir -p "$corpus/dataset_h5" "$corpus/ckpt"

# Tiny datasets: 8x8 gray IDX digits of 4 classes, a 2-class RGB PNG tree, MNIST segmentation.
"$py" - "$work" "$repo/scripts" <<'PY'
import os, struct, sys
work = sys.argv[1]
sys.path.insert(0, sys.argv[2])
from pngwrite import write_png
def idx(path, dims, data):
    with open(path, "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, 8, len(dims)) + struct.pack(f">{len(dims)}I", *dims) + data)
os.makedirs(f"{work}/idx")
for prefix, n in (("train", 40), ("t10k", 12)):
    labels = bytes(i % 4 for i in range(n))
    pixels = bytes((i * 97 + (i // 64) * 31) % 256 for i in range(n * 64))
    idx(f"{work}/idx/{prefix}-images-idx3-ubyte", [n, 8, 8], pixels)
    idx(f"{work}/idx/{prefix}-labels-idx1-ubyte", [n], labels)
for split, n in (("Train", 6), ("Test", 2)):
    for k, name in enumerate(("cat", "dog")):
        os.makedirs(f"{work}/rgb/{split}/{name}")
        for i in range(n):
            rows = [bytes((x * 40 + y * 20 + c * 60 + i * 9 + k * 100) % 256
                          for x in range(6) for c in range(3)) for y in range(6)]
            write_png(f"{work}/rgb/{split}/{name}/{i}.png", 6, 6, 3, rows)
PY
"$repo/scripts/make_mnist_seg" "$repo/data/mnist" "$work/seg" --train 12 --test 4 --size 28 >/dev/null
"$dptrain" data convert "$work/idx" "$corpus/dataset_h5/idx-8x8.h5" >/dev/null
"$dptrain" data convert "$work/rgb" "$corpus/dataset_h5/rgb-tree-6x6.h5" >/dev/null
"$dptrain" data convert "$work/seg" "$corpus/dataset_h5/segmentation-28x28.h5" >/dev/null

# Layouts dptrain does not write: contiguous uncompressed, int64 labels, 4-D gray images,
# fixed-length class names; a segmentation file with variable-length names; no /classes.
"$py" - "$corpus/dataset_h5" <<'PY'
import sys
import h5py, numpy as np
out = sys.argv[1]
rng = np.random.default_rng(7)
with h5py.File(f"{out}/h5py-contiguous.h5", "w", libver="earliest") as f:
    f["train/images"] = rng.integers(0, 256, (10, 1, 5, 5), dtype=np.uint8)
    f["train/labels"] = np.arange(10, dtype=np.int64) % 3
    f["test/images"] = rng.integers(0, 256, (4, 1, 5, 5), dtype=np.uint8)
    f["test/labels"] = np.arange(4, dtype=np.int64) % 3
    f["classes"] = np.array([b"a", b"bb", b"ccc"], dtype="S3")
with h5py.File(f"{out}/h5py-segmentation.h5", "w") as f:
    f["train/images"] = rng.integers(0, 256, (6, 4, 4), dtype=np.uint8)
    f["train/masks"] = rng.integers(0, 3, (6, 4, 4), dtype=np.uint8)
    f["test/images"] = rng.integers(0, 256, (2, 4, 4), dtype=np.uint8)
    f["test/masks"] = rng.integers(0, 3, (2, 4, 4), dtype=np.uint8)
    f.create_dataset("classes", data=["bg", "x", "y"], dtype=h5py.string_dtype())
with h5py.File(f"{out}/h5py-no-classes-int16.h5", "w") as f:
    f.create_dataset("train/images", data=rng.integers(0, 256, (8, 3, 3), dtype=np.uint8),
                     chunks=(2, 3, 3), compression="gzip", shuffle=True)
    f["train/labels"] = (np.arange(8) % 2).astype(np.int16)
    f["test/images"] = rng.integers(0, 256, (2, 3, 3), dtype=np.uint8)
    f["test/labels"] = np.array([1, 0], dtype=np.int16)
PY

# Checkpoints: one epoch each, one thread, in a scratch folder.
train() { # train NAME DATA MODEL [options...]
  local name=$1 data=$2 model=$3
  shift 3
  (cd "$work" && "$dptrain" train --data "$data" --model "$model" --epochs 1 --threads 1 \
    --out "run-$name" "$@" >/dev/null)
  cp "$work/run-$name/seed-1/checkpoint.h5" "$corpus/ckpt/$name.h5"
}
train mnist-linear "$repo/data/mnist" "flatten linear(10)" --train-samples 64 --val 32 \
  --test-samples 32
train idx-bn-adam "$work/idx" "conv(2,3,pad=1,bias=0) batchnorm relu maxpool(2) linear(classes)" \
  --val 8 --batch 8 --opt adam
train rgb-res-momentum "$work/rgb" "res[ conv(3,3,pad=1) ] dropout(0.5) flatten linear(classes)" \
  --val 2 --batch 4 --momentum 0.9 --nesterov --sched step:1:0.5
train segmentation "$work/seg" \
  "conv(2,3,pad=1) relu @a maxpool(2) convtranspose(2,2,stride=2) concat(@a) conv(classes,1)" \
  --val 2 --batch 4 --opt adagrad
du -b "$corpus"/*/* | sort -n | tail -3
