#!/usr/bin/env bash
# Bad datasets (issue 9): each gets one line on stderr naming the file and the problem, a
# non-zero exit, and no hang (`timeout 10` around the cases that could block or allocate). Most
# go through `dptrain data info`; a few through `dptrain train` (alone and under mpirun), which
# must say the same. Non-.png and hidden files are skipped, not errors.
source "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3 # h5py and numpy are Debian's
FASHION=${DPTRAIN_FASHION:-$(dirname "$DATA")/fashion-mnist}
FASHION_CLASSES=$(dirname "$DATA")/fashion-mnist-classes.txt
[[ -f $FASHION/train-images-idx3-ubyte.gz || -f $FASHION/train-images-idx3-ubyte ]] ||
  fail "no Fashion-MNIST in $FASHION; run scripts/setup.sh"
[[ -f $FASHION_CLASSES ]] || fail "no $FASHION_CLASSES"
$PY -c 'import h5py, numpy' 2>/dev/null || fail "h5py or numpy missing for $PY"
W=$WORK/d
INFO=("$DPTRAIN" data info)

# The datasets: tiny PNG trees of 8x8 images (classes a and b, two images each per split) with
# one defect each, and HDF5 files with one defect each.
$PY - "$SCRIPTS" "$W" <<'PY'
import os, struct, sys, zlib
sys.path.insert(0, sys.argv[1])  # scripts/pngwrite.py
from pngwrite import SIGNATURE, chunk, png_bytes, solid, write_png
import h5py, numpy as np
W = sys.argv[2]

def tree(name, classes=("a", "b"), n=2, channels=1, splits=("Train", "Test")):
    for split in splits:
        for c in classes:
            os.makedirs(f"{W}/{name}/{split}/{c}", exist_ok=True)
            for i in range(n):
                write_png(f"{W}/{name}/{split}/{c}/{i:04d}.png", 8, 8, channels,
                          solid(8, 8, channels, 40 + 20 * i))
    return f"{W}/{name}"

tree("good")
d = tree("empty-class"); os.makedirs(f"{d}/Train/c")          # a class folder with no images
d = tree("test-extra"); tree("test-extra", ("z",), splits=("Test",))  # Test/z, no Train/z
d = tree("sizes"); write_png(f"{d}/Train/b/0001.png", 9, 7, 1, solid(9, 7, 1))  # 9 wide, 7 high
d = tree("channels", channels=3); write_png(f"{d}/Train/b/0001.png", 8, 8, 1, solid(8, 8, 1))
# Bytes flipped in IDAT's deflate stream (its CRC recomputed, so the inflater meets them).
d = tree("corrupt")
z = bytearray(zlib.compress(b"".join(b"\0" + bytes(range(8 * r, 8 * r + 8)) for r in range(8)), 0))
for k in range(2, len(z) - 4, 5):
    z[k] ^= 0xFF
with open(f"{d}/Train/a/0001.png", "wb") as f:
    f.write(SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", bytes(z)) + chunk(b"IEND", b""))
d = tree("truncated")
whole = png_bytes(8, 8, 1, solid(8, 8, 1))
with open(f"{d}/Test/b/0000.png", "wb") as f:
    f.write(whole[:len(whole) // 2])
d = tree("huge")  # the header promises 100000x100000 (10^10 pixels); the data is 8x8
write_png(f"{d}/Train/a/0000.png", 8, 8, 1, solid(8, 8, 1), ihdr_size=(100000, 100000))
d = tree("notpng")
with open(f"{d}/Train/b/x.png", "w") as f:
    f.write("hello, I am text\n")
d = tree("skipped")  # none of these is an image of the dataset
with open(f"{d}/Train/a/README.txt", "w") as f:
    f.write("not an image\n")
with open(f"{d}/Train/a/.DS_Store", "wb") as f:
    f.write(b"\0\0\0\1Bud1\0")
with open(f"{d}/Test/b/.hidden.png", "wb") as f:
    f.write(b"junk")
os.makedirs(f"{W}/empty-tree/Train"); os.makedirs(f"{W}/empty-tree/Test")
tree("no-test", splits=("Train",))
# RGB, RGBA and 16-bit RGB in one tree: all read as 3 channels (alpha dropped, 16 bits scaled).
d = tree("colour-kinds", channels=3)
write_png(f"{d}/Train/a/0001.png", 8, 8, 4, solid(8, 8, 4))
write_png(f"{d}/Test/b/0001.png", 8, 8, 3, solid(16, 8, 3), depth=16)  # 8x8 of 2-byte samples

tree("lower", splits=("train", "test"))  # lower-case split folders are read too
tree("both"); tree("both", splits=("train",))  # but not both spellings at once
tree("numbers", classes=("10", "2", "1"), n=1)  # all numbers: numeric order

def h5(name, skip=(), classes=("x", "y", "z"), **arrays):
    rng = np.random.default_rng(0)
    data = {"train/images": rng.integers(0, 256, (6, 8, 8), dtype=np.uint8),
            "train/labels": np.array([0, 1, 2, 0, 1, 2], np.int64),
            "test/images": rng.integers(0, 256, (4, 8, 8), dtype=np.uint8),
            "test/labels": np.array([0, 1, 2, 0], np.int64)}
    data.update({k.replace("_", "/", 1): v for k, v in arrays.items()})
    with h5py.File(f"{W}/{name}", "w") as f:
        for k, v in data.items():
            if k not in skip:
                f[k] = v
        if classes:
            f["classes"] = np.array(classes, dtype=h5py.string_dtype())

h5("good.h5")
h5("label.h5", train_labels=np.array([0, 1, 2, 0, 7, 2]))  # 3 classes named, label 7
h5("negative.h5", classes=None, test_labels=np.array([0, 1, -1, 0]))
h5("rank2.h5", train_images=np.zeros((6, 64), np.uint8))
h5("float.h5", train_images=np.zeros((6, 8, 8), np.float32))
h5("nolabels.h5", skip=("test/labels",))
with open(f"{W}/plain.h5", "w") as f:
    f.write("I am not HDF5\n")
PY
mkfifo "$W/fifo"
cp -r "$W/good" "$W/fifo-png"
rm "$W/fifo-png/Train/a/0001.png"
mkfifo "$W/fifo-png/Train/a/0001.png"
"${INFO[@]}" "$W/good" >/dev/null || fail "data info on a good tree"
"${INFO[@]}" "$W/good.h5" >/dev/null || fail "data info on a good HDF5 file"

# PNG trees.
expect_error 1 "$W/empty-class/Train/c: no .png images" "${INFO[@]}" "$W/empty-class"
expect_error 1 "$W/test-extra/Test/z: class 'z' is not among the training classes" "${INFO[@]}" "$W/test-extra"
expect_error 1 "$W/sizes/Train/b/0001.png: 1x7x9.* $W/sizes/Train/a/0000.png is 1x8x8" "${INFO[@]}" "$W/sizes"
expect_error 1 "$W/channels/Train/b/0001.png: 1x8x8.* $W/channels/Train/a/0000.png is 3x8x8" "${INFO[@]}" "$W/channels"
expect_error 1 "$W/corrupt/Train/a/0001.png: corrupt" "${INFO[@]}" "$W/corrupt"
expect_error 1 "$W/truncated/Test/b/0000.png: .*truncated" "${INFO[@]}" "$W/truncated"
start=$SECONDS
expect_error 1 "$W/huge/Train/a/0000.png: .*100000x100000" timeout 10 "${INFO[@]}" "$W/huge"
((SECONDS - start <= 2)) || fail "the 100000x100000 header took $((SECONDS - start)) s to refuse"
expect_error 1 "$W/notpng/Train/b/x.png: not a PNG" "${INFO[@]}" "$W/notpng"
expect_error 1 "$W/empty-tree/Train: no class folders" "${INFO[@]}" "$W/empty-tree"
expect_error 1 "$W/no-test: no Test/ folder" "${INFO[@]}" "$W/no-test"
expect_error 1 "$W/fifo-png/Train/a/0001.png: not a regular file" timeout 10 "${INFO[@]}" "$W/fifo-png"
expect_error 1 "$W/both: holds both Train/ and train/" "${INFO[@]}" "$W/both"
out=$("${INFO[@]}" "$W/lower") || fail "data info on train/ and test/"
grep -q "^images *4 training, 4 test$" <<<"$out" || fail "train/ and test/: $(grep ^images <<<"$out")"
out=$("${INFO[@]}" "$W/numbers") || fail "data info on classes 10, 2, 1"
grep -q "^classes *3: 1, 2, 10$" <<<"$out" || fail "numeric class order: $(grep ^classes <<<"$out")"
echo "ok: lower-case train/ and test/ read; classes named 10, 2, 1 in the order 1, 2, 10"
out=$("${INFO[@]}" "$W/skipped") || fail "data info with README.txt and hidden files in class folders"
grep -q "^images *4 training, 4 test$" <<<"$out" || fail "skipped files counted: $(grep ^images <<<"$out")"
echo "ok: README.txt, .DS_Store and .hidden.png skipped: $(grep ^images <<<"$out")"
out=$("${INFO[@]}" "$W/colour-kinds") || fail "data info on RGB, RGBA and 16-bit RGB images"
grep -q "^shape *3x8x8" <<<"$out" || fail "RGB, RGBA and 16-bit RGB: $(grep ^shape <<<"$out")"
echo "ok: RGB, RGBA and 16-bit RGB in one tree: $(grep ^shape <<<"$out")"

# HDF5 files, and paths that are not datasets.
expect_error 1 "$W/label.h5: /train/labels\[4\] = 7, outside the 3 classes" "${INFO[@]}" "$W/label.h5"
expect_error 1 "$W/negative.h5: /test/labels\[2\] = -1, outside" "${INFO[@]}" "$W/negative.h5"
expect_error 1 "$W/rank2.h5: /train/images has rank 2" "${INFO[@]}" "$W/rank2.h5"
expect_error 1 "$W/float.h5: /train/images is float32; expected uint8" "${INFO[@]}" "$W/float.h5"
expect_error 1 "$W/nolabels.h5: no /test/labels" "${INFO[@]}" "$W/nolabels.h5"
expect_error 1 "$W/plain.h5: not an HDF5 file" "${INFO[@]}" "$W/plain.h5"
expect_error 1 "$W/fifo: not a folder or a regular file" timeout 10 "${INFO[@]}" "$W/fifo"
expect_error 1 "/dev/null: not a folder or a regular file" "${INFO[@]}" /dev/null
expect_error 1 "$W/none: [Nn]o such file" "${INFO[@]}" "$W/none"

# The trainer says the same, alone and under mpirun (there rank 0 says it, once).
for path in "$W/sizes" "$W/corrupt" "$W/label.h5" "$W/fifo" /dev/null; do
  "${INFO[@]}" "$path" 2>"$WORK/info.err" >/dev/null && fail "data info $path succeeded"
  expect_error 1 "" timeout 20 "$DPTRAIN" train --data "$path" --epochs 1 >/dev/null
  [[ $(sed 's/^dptrain train: //' "$WORK/err") == "$(sed 's/^dptrain data: //' "$WORK/info.err")" ]] ||
    fail "train says '$(cat "$WORK/err")', data info '$(cat "$WORK/info.err")'"
done
echo "ok: dptrain train gives data info's message"
rc=0
timeout 60 "${MPIRUN[@]}" -np 2 "$DPTRAIN" train --data "$W/corrupt" --epochs 1 >/dev/null 2>"$WORK/mpi.err" || rc=$?
[[ $rc != 0 && $rc != 124 ]] || fail "mpirun -np 2 on a corrupt PNG: exit $rc"
[[ $(grep -c "^dptrain train: $W/corrupt/Train/a/0001.png: corrupt" "$WORK/mpi.err") == 1 ]] ||
  fail "mpirun -np 2 on a corrupt PNG: $(cat "$WORK/mpi.err")"
echo "ok: mpirun -np 2: one line, exit $rc"

# --norm: the counts must match each other and the data's channels, and std be positive.
python3 "$HERE/make_rgb_dataset.py" "$W/rgb" --classes 3 --train 4 --test 2
T=("$DPTRAIN" train --epochs 1)
expect_error 2 "--norm 0.1,0.2/0.3: 2 means but 1 standard deviation" "${T[@]}" --data "$DATA" --norm 0.1,0.2/0.3
expect_error 2 "--norm 0.1/0: .*not positive" "${T[@]}" --data "$DATA" --norm 0.1/0
expect_error 1 "--norm gives 1 channel, the images of $W/rgb have 3" "${T[@]}" --data "$W/rgb" --val 2 --norm 0.5/0.2

# dptrain data convert: never over an existing file without --force; one name per class.
"$DPTRAIN" data convert "$W/good" "$W/out.h5" >/dev/null || fail "convert of a good tree"
expect_error 1 "$W/out.h5 exists; --force" "$DPTRAIN" data convert "$W/good" "$W/out.h5"
"$DPTRAIN" data convert "$W/good" "$W/out.h5" --force >/dev/null || fail "convert --force"
expect_error 1 "--classes gives 1 name, $W/good has 2 classes" \
  "$DPTRAIN" data convert "$W/good" "$W/named.h5" --classes onlyone
expect_error 1 "--classes gives 3 names, $W/good has 2 classes" \
  "$DPTRAIN" data convert "$W/good" "$W/named.h5" --classes x,y,z
[[ ! -e $W/named.h5 ]] || fail "a refused convert left $W/named.h5"
printf 'x\n' >"$W/names.txt"
expect_error 1 "--classes gives 1 name, " "$DPTRAIN" data convert "$W/good" "$W/named.h5" --classes "@$W/names.txt"

# eval: a 1x28x28 MNIST model refuses RGB data, and Fashion-MNIST whose classes have names.
"$DPTRAIN" train --data "$DATA" --model cnn2710 --epochs 1 --train-samples 500 --val 1000 \
  --threads 1 --out "$WORK/mnist" >/dev/null 2>&1 || fail "the MNIST run for eval"
$PY - "$FASHION" "$FASHION_CLASSES" "$W/fashion.h5" <<'PY'
import gzip, os, sys
import h5py, numpy as np
src, names, out = sys.argv[1:]
def first(name, n, offset, size):  # the first n items of an IDX file, raw or .gz
    path = os.path.join(src, name)
    f = open(path, "rb") if os.path.exists(path) else gzip.open(path + ".gz", "rb")
    with f:
        return np.frombuffer(f.read(offset + n * size), np.uint8, offset=offset)
with h5py.File(out, "w") as f:
    for split, prefix, n in (("train", "train", 1500), ("test", "t10k", 200)):
        f[f"{split}/images"] = first(f"{prefix}-images-idx3-ubyte", n, 16, 784).reshape(n, 28, 28)
        f[f"{split}/labels"] = first(f"{prefix}-labels-idx1-ubyte", n, 8, 1).astype(np.int32)
    f["classes"] = np.array(open(names).read().splitlines(), dtype=h5py.string_dtype())
PY
ckpt=$WORK/mnist/seed-1/checkpoint.h5
expect_error 1 "$W/fashion.h5: class 0 is 'T-shirt/top', the model's is '0'" "$DPTRAIN" eval "$ckpt" --data "$W/fashion.h5"
expect_error 1 "$W/rgb: images are 3x28x28, the model takes 1x28x28" "$DPTRAIN" eval "$ckpt" --data "$W/rgb"
echo "PASS"
