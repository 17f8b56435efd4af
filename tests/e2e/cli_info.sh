#!/usr/bin/env bash
# dptrain info: the seeds' parameter totals, and a bad spec's message.
source "$(dirname "$0")/lib.sh"
total() { "$DPTRAIN" info --model "$1" | awk '$1 == "total" { print $2 }'; }
[[ $(total cnn2710) == 2710 ]] || fail "cnn2710 total $(total cnn2710)"
[[ $(total mlp300) == 238510 ]] || fail "mlp300 total $(total mlp300)"
# node, name, layer, inputs, output, parameters, buffers, FLOPs (2 x 4 x 36 x 196 + 4 x 196);
# each relu runs after the maxpool that reads it (model.c), and a line says so
"$DPTRAIN" info --model cnn2710 >"$WORK/cnn2710.txt"
grep -Eq '^4 +conv2 +conv\(4,3,stride=1,pad=1,bias=1\) +relu1 +4x14x14 +580 +0 +226576$' \
  "$WORK/cnn2710.txt" || fail "cnn2710 layer table: $(cat "$WORK/cnn2710.txt")"
grep -Eq '^2 +maxpool1 +maxpool\(2,stride=2\) +conv1 +16x14x14 ' "$WORK/cnn2710.txt" &&
  grep -Eq '^3 +relu1 +relu +maxpool1 +16x14x14 +0 +0 +3136$' "$WORK/cnn2710.txt" &&
  grep -q '^relu1 runs after maxpool1, on its output (the spec has it before' "$WORK/cnn2710.txt" ||
  fail "cnn2710: relu1 not shown after maxpool1: $(cat "$WORK/cnn2710.txt")"
"$DPTRAIN" info --model cnn003-poolfirst | grep -q 'runs after' &&
  fail "cnn003-poolfirst (written pool, then relu) says a relu was moved"
# A graph: the add closing a residual block reads both branches; BatchNorm has buffers.
resnet=$("$DPTRAIN" info --model resnet18)
grep -Eq '^[0-9]+ +add1 +add +bn3,relu1 +64x28x28 ' <<<"$resnet" ||
  fail "resnet18: add1 does not read bn3 and the block input"
awk '$1 == "total" { exit !($2 == 11172810 && $3 == 9620) }' <<<"$resnet" ||
  fail "resnet18 totals: $(grep ^total <<<"$resnet")"
# The U-Net kinds: convtranspose 2 x 16 x (8 x 2 x 2) x 196 multiply-adds plus 8 x 784 biases,
# bilinear upsampling four multiply-adds per output; words print by name.
unet=$("$DPTRAIN" info --model "conv(16,3,pad=1) maxpool(2) convtranspose(8,2,stride=2) upsample(2,bilinear) linear(10)")
grep -Eq '^3 +convtranspose1 +convtranspose\(8,2,stride=2,pad=0,outpad=0,bias=1\) +maxpool1 +8x28x28 +520 +0 +206976$' <<<"$unet" ||
  fail "convtranspose row: $(grep convtranspose1 <<<"$unet")"
grep -Eq '^4 +upsample1 +upsample\(2,mode=bilinear\) +convtranspose1 +8x56x56 +0 +0 +200704$' <<<"$unet" ||
  fail "upsample row: $(grep upsample1 <<<"$unet")"
expect_error 1 "layer 2 \(upsample\): unknown mode 'cubic' \(one of: nearest bilinear\)" \
  "$DPTRAIN" info --model "relu upsample(2,mode=cubic) linear(10)"
grep -q "upsample(scale,mode=nearest)" <<<"$("$DPTRAIN" info --help)" || fail "info --help lacks upsample"
expect_error 1 "layer 2 \(add of 8x28x28 and 1x28x28\): the shapes differ" \
  "$DPTRAIN" info --model "@x conv(8,3,pad=1) add(@x) linear(10)"
expect_error 1 "layer 2: unknown layer 'softmax'" "$DPTRAIN" info --model "linear(10) softmax"
expect_error 2 "--model is required" "$DPTRAIN" info
grep -q "cnn50-100" <<<"$("$DPTRAIN" info --help)" || fail "info --help lists no presets"
echo "PASS"
