#!/usr/bin/env bash
# The PyTorch oracle (ctest oracle_pytorch): for a spec exercising every layer kind and graph
# construct, and for every preset dptrain_core knows (read from `oracle_dump --presets` at test
# time, so new presets are covered when they are added), oracle_dump computes dptrain's
# evaluation logits, training-mode gradients and BatchNorm statistics on 8 real MNIST test
# images, and torch_oracle.py recomputes them with PyTorch through scripts/dptrain_torch.py.
# Segmentation (issue 10): U-Net-like specs and every preset that builds as a segmentation model,
# on 32x32 canvases of those images labelled per pixel (pixel >= 128) * (digit + 1) into 11
# classes (oracle_dump --segment), their per-pixel cross-entropy (dpt_softmax_xent_dense) against
# F.cross_entropy on (N, 11, 32, 32) logits, plain and class-weighted (--segment=weighted).
# Needs PyTorch and h5py for /usr/bin/python3 (Debian: python3-torch, python3-h5py); installs
# nothing.
set -euo pipefail
DUMP=${ORACLE_DUMP:?set by ctest: the oracle_dump program}
DATA=${DPTRAIN_DATA:?set by ctest: the MNIST folder}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
export DPTRAIN_DATA=$DATA

fail() { echo "FAIL: $*" >&2; exit 1; }
[[ -f $DATA/t10k-images-idx3-ubyte || -f $DATA/t10k-images-idx3-ubyte.gz ]] ||
  fail "no MNIST in $DATA; run scripts/setup.sh"
[[ -x $PY ]] && $PY -c 'import torch' 2>/dev/null ||
  fail "PyTorch is missing for /usr/bin/python3: install python3-torch (apt-get install python3-torch)"
$PY -c 'import h5py' 2>/dev/null ||
  fail "h5py is missing for /usr/bin/python3: install python3-h5py (apt-get install python3-h5py)"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# name|spec: together every kind, argument and graph construct of the spec language. Dropout
# is there at p=0 (oracle_dump also forces any preset's p to 0: the passes compared are
# deterministic).
KINDS=(
  "conv-stride-pad|conv(6,5,stride=2,pad=2,bias=0) relu conv(8,3) leakyrelu(0.2) maxpool(3,stride=2) linear(10)"
  "pools-activations|conv(4,3,pad=1) elu(0.5) avgpool(2) conv(8,3) sigmoid avgpool(3,stride=2) tanh flatten linear(10)"
  "batchnorm-2d|batchnorm conv(8,3,pad=1,bias=0) batchnorm relu maxpool(2) conv(8,3,pad=1) batchnorm(affine=0,momentum=0.3,eps=0.001) relu globalavgpool batchnorm linear(10)"
  "batchnorm-1d|flatten linear(64) batchnorm relu dropout(0) linear(32) batchnorm(affine=0,momentum=0.2) tanh dropout2d(0) linear(10)"
  "dropout|conv(8,3,pad=1) dropout2d(0) relu maxpool(2) dropout(0) linear(10)"
  "res-identity|conv(8,3,pad=1) relu res[ conv(8,3,pad=1,bias=0) batchnorm relu conv(8,3,pad=1) ] relu maxpool(2) linear(10)"
  "res-projection|conv(8,3,pad=1) relu res[ conv(16,3,stride=2,pad=1,bias=0) batchnorm relu conv(16,3,pad=1,bias=0) batchnorm | conv(16,1,stride=2,bias=0) batchnorm ] relu globalavgpool linear(10)"
  "res-nested|conv(8,3,pad=1) res[ res[ conv(8,3,pad=1) relu ] conv(8,3,pad=1) | conv(8,1) ] relu maxpool(4) linear(10)"
  "unet-nearest|conv(8,3,pad=1) relu @e1 maxpool(2) conv(16,3,pad=1) relu convtranspose(8,2,stride=2) concat(@e1) conv(8,3,pad=1) relu upsample(2) conv(4,3,pad=1) relu maxpool(2) linear(classes)"
  "unet-bilinear|conv(8,3,pad=1) relu @e1 maxpool(2) conv(16,3,pad=1) relu convtranspose(8,2,stride=2) concat(@e1) conv(8,3,pad=1) relu upsample(2,mode=bilinear) conv(4,3,pad=1) relu maxpool(2) linear(classes)"
  "convtranspose-upsample|conv(4,4) tanh upsample(2,mode=bilinear) maxpool(2) upsample(3,mode=bilinear) maxpool(5) convtranspose(6,3,stride=2,pad=1,outpad=1,bias=0) relu convtranspose(3,4,stride=2,pad=1) maxpool(4) upsample(3) convtranspose(2,3) elu maxpool(4) linear(10)"
  "saved-concat-add|@in conv(4,3,pad=1) relu @a conv(4,3,pad=1) relu @b concat(@a) conv(4,1) add(@b) relu concat(@in) @c conv(3,3,pad=1) concat(@c) @d add(@d) maxpool(2) @e concat(@e) globalavgpool flatten linear(16) @v relu linear(16) add(@v) linear(10)"
)
files=()
for entry in "${KINDS[@]}"; do
  name=${entry%%|*}
  "$DUMP" "${entry#*|}" "$WORK/kind-$name.h5" >/dev/null || fail "oracle_dump on kind-$name"
  files+=("$WORK/kind-$name.h5")
done
# name|oracle_dump mode|spec: segmentation models ending in conv(11,1) at the input's 32x32.
SEGMENT=(
  "seg-unet-bn|--segment|conv(8,3,pad=1,bias=0) batchnorm relu @e1 maxpool(2) conv(16,3,pad=1,bias=0) batchnorm relu convtranspose(8,2,stride=2) concat(@e1) conv(8,3,pad=1) batchnorm(momentum=0.3) relu conv(11,1)"
  "seg-unet-bn-weighted|--segment=weighted|conv(8,3,pad=1,bias=0) batchnorm relu @e1 maxpool(2) conv(16,3,pad=1,bias=0) batchnorm relu convtranspose(8,2,stride=2) concat(@e1) conv(8,3,pad=1) batchnorm(momentum=0.3) relu conv(11,1)"
  "seg-bilinear-weighted|--segment=weighted|conv(8,3,pad=1) leakyrelu(0.1) @e1 maxpool(2) conv(16,3,pad=1) elu upsample(2,mode=bilinear) concat(@e1) conv(8,3,pad=1) tanh res[ conv(8,3,pad=1) relu ] conv(classes,1)"
)
for entry in "${SEGMENT[@]}"; do
  name=${entry%%|*} rest=${entry#*|}
  "$DUMP" "${rest%%|*}" "${rest#*|}" "$WORK/$name.h5" >/dev/null || fail "oracle_dump on $name"
  files+=("$WORK/$name.h5")
done
mapfile -t presets < <("$DUMP" --presets)
((${#presets[@]} > 0)) || fail "oracle_dump --presets listed no presets"
echo "presets: ${presets[*]}"
# Each preset as a classifier (10 classes) and as a segmentation model (plain and class-weighted),
# as far as it builds as one; a segmentation preset (the U-Nets, conv(classes,1) heads) refuses
# to classify and a classifier to segment, each with its own message, and every preset must be
# one or the other.
for p in "${presets[@]}"; do
  built=0
  if "$DUMP" "$p" "$WORK/preset-$p.h5" >/dev/null 2>"$WORK/dump.err"; then
    files+=("$WORK/preset-$p.h5") built=1
  else
    grep -q "outputs per sample, the data has 10 classes" "$WORK/dump.err" ||
      fail "oracle_dump on preset $p: $(cat "$WORK/dump.err")"
  fi
  for mode in --segment --segment=weighted; do
    out=$WORK/seg-preset-$p.h5
    [[ $mode == --segment ]] || out=$WORK/seg-preset-$p-weighted.h5
    if "$DUMP" "$mode" "$p" "$out" >/dev/null 2>"$WORK/dump.err"; then
      files+=("$out") built=1
    else
      grep -q "segmentation needs the last layer" "$WORK/dump.err" ||
        fail "oracle_dump $mode $p: $(cat "$WORK/dump.err")"
    fi
  done
  ((built)) || fail "preset $p builds neither as a classifier nor as a segmentation model"
done
segs=$(printf '%s\n' "${files[@]}" | grep -c '/seg-preset-' || true)
((segs >= 2)) || fail "no preset built as a segmentation model (the unet preset should)"
"$PY" "$HERE/torch_oracle.py" "${files[@]}" || fail "dptrain and PyTorch disagree (above)"

# The user-facing script: prints the module and its parameter count, evaluates on MNIST.
SCRIPT=$HERE/../../scripts/dptrain_torch.py
"$PY" "$SCRIPT" "$WORK/preset-cnn2710.h5" --eval-mnist "$DATA" >"$WORK/script.out" ||
  fail "scripts/dptrain_torch.py: $(cat "$WORK/script.out")"
grep -q '^  (linear1): Linear(in_features=196, out_features=10, bias=True)$' "$WORK/script.out" ||
  fail "scripts/dptrain_torch.py printed no linear1: $(cat "$WORK/script.out")"
grep -q '^parameters: 2710 ' "$WORK/script.out" || fail "scripts/dptrain_torch.py: parameter count"
grep -Eq '^test .*accuracy [0-9.]+%$' "$WORK/script.out" || fail "scripts/dptrain_torch.py: no accuracy"
echo "ok: scripts/dptrain_torch.py: $(tail -1 "$WORK/script.out")"
# A weight changed on disk (its sha256 left as dptrain wrote it) is refused in one line.
cp "$WORK/preset-cnn2710.h5" "$WORK/damaged.h5"
"$PY" -c 'import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    w = f["model/linear1/weight"]; v = w[...]; v[0, 0] += 1; w[...] = v' "$WORK/damaged.h5"
if "$PY" "$SCRIPT" "$WORK/damaged.h5" >"$WORK/damaged.out" 2>&1; then
  fail "scripts/dptrain_torch.py loaded a damaged checkpoint"
fi
grep -q "damaged.h5: /model/linear1/weight does not match its sha256: the file is damaged" "$WORK/damaged.out" ||
  fail "scripts/dptrain_torch.py on a damaged file: $(cat "$WORK/damaged.out")"
echo "ok: scripts/dptrain_torch.py refuses a damaged file: $(tail -1 "$WORK/damaged.out")"
echo "PASS"
