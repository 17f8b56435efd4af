#!/usr/bin/env bash
# dptrain info: the seeds' parameter totals, and a bad spec's message.
source "$(dirname "$0")/lib.sh"
total() { "$DPTRAIN" info --model "$1" | awk '$1 == "total" { print $2 }'; }
[[ $(total cnn2710) == 2710 ]] || fail "cnn2710 total $(total cnn2710)"
[[ $(total mlp300) == 238510 ]] || fail "mlp300 total $(total mlp300)"
"$DPTRAIN" info --model cnn2710 | grep -Eq '^4 +conv\(4,3,stride=1,pad=1\) +4x14x14 +580$' ||
  fail "cnn2710 layer table"
expect_error 1 "layer 2: unknown layer 'softmax'" "$DPTRAIN" info --model "linear(10) softmax"
expect_error 2 "--model is required" "$DPTRAIN" info
"$DPTRAIN" info --help | grep -q "cnn50-100" || fail "info --help lists no presets"
echo "PASS"
