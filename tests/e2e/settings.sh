#!/usr/bin/env bash
# The settings are listed once: every attribute of a checkpoint's /config is a `dptrain train`
# option shown in --help and a key of the JSON config, and the values /config holds, given back
# as options, resume the run. The Python reader reads every metric the run reported. Seed lists
# are parsed alike on the command line and in experiment files.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3

"$DPTRAIN" train --data "$DATA" --model cnn2710 --epochs 1 --batch 500 --val 55000 --threads 1 \
  --init normal:0.05 --opt sgd --momentum 0.5 --nesterov --sched exp:0.9 --norm compute \
  --split-seed 3 --wd 1e-4 --micro-batch 100 --seed 7 --json --out "$WORK/run" >"$WORK/first.json"
ckpt=$WORK/run/seed-7/checkpoint.h5
"$DPTRAIN" train --help >"$WORK/help"

# The options that give every setting its checkpointed value, one per line.
"$PY" - "$ckpt" "$WORK/help" "$WORK/first.json" "$SCRIPTS" >"$WORK/options" <<'PY'
import json, re, sys
sys.path.insert(0, sys.argv[4])
import dptrain_h5
run = dptrain_h5.load_run(sys.argv[1])
shown = set(re.findall(r"^  (--[a-z0-9-]+)", open(sys.argv[2]).read(), re.M))
d = json.loads(open(sys.argv[3]).read().splitlines()[-1])
config = d["config"]
assert len(run.config) >= 20, sorted(run.config)
for name, value in run.config.items():
    option = "--" + name.replace("_", "-")
    assert option in shown, f"{option} is not in dptrain train --help"
    assert name in config, f"the JSON config lacks {name}"
    have = config["model_spec"] if name == "model" else config[name]
    assert have == value, f"{name}: JSON {have!r}, /config {value!r}"
    if name == "epochs":
        continue  # the run's total, given below
    if name == "nesterov":  # a flag
        if value:
            print(option)
        continue
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    print(option)
    print(value)
# The reader holds every metric of the JSON history, and the batch history.
assert list(run.history) == ["epoch"] + sorted(k for k in d["history"][0] if k != "epoch"), \
    (list(run.history), list(d["history"][0]))
for k, column in run.history.items():
    assert abs(column[0] - d["final"][k]) <= 1e-9 * max(1, abs(d["final"][k])), k
assert sorted(run.batch) == ["acc", "loss"] and len(run.batch["loss"]) == 10
PY
grep -qx -- "--class-weights" "$WORK/options" || fail "no --class-weights in /config"
grep -qx "none" "$WORK/options" || fail "class_weights is not 'none' in /config"
echo "ok: every setting of /config is an option in --help and a key of the JSON config"
"$PY" "$SCRIPTS/dptrain_h5.py" "$ckpt" >"$WORK/reader" || fail "dptrain_h5.py failed"
grep -q "reduce_wait_seconds" "$WORK/reader" || fail "dptrain_h5.py prints no reduce_wait_seconds"
echo "ok: the Python reader reads every metric"

# /config's values as options: the run resumes (only --epochs grows).
mapfile -t options <"$WORK/options"
"$DPTRAIN" train --data "$DATA" --threads 1 --epochs 2 --out "$WORK/run" --resume auto --json \
  "${options[@]}" >"$WORK/resumed.json" || fail "/config's own values do not resume the run"
grep -q "resuming from $ckpt at epoch 2" "$WORK/resumed.json" || fail "no resume"
[[ $(json_get "$WORK/resumed.json" 'len(d["history"])') == 2 ]] || fail "resumed history length"
echo "ok: /config's values given back as options resume the run"

# --micro-batch's default follows the model and --batch: larger for an MLP's large batch
# (its gradient outweighs its activations), 32 with BatchNorm or convolutions; an explicit
# value wins. The JSON config (and /config) holds the value used.
micro_of() {
  "$DPTRAIN" train --data "$DATA" --threads 1 --epochs 1 --val 55000 --json "$@" |
    tail -1 >"$WORK/micro.json" || fail "train $*"
  json_get "$WORK/micro.json" 'd["config"]["micro_batch"]'
}
for c in "mlp300 2048 256" "mlp300 512 64" "mlp300 256 32" "mlp300 64 32" "cnn2710 2048 32" \
  "linear(300)_batchnorm_sigmoid_linear(10) 2048 32"; do
  read -r model batch want <<<"$c"
  have=$(micro_of --model "${model//_/ }" --batch "$batch")
  [[ $have == "$want" ]] || fail "$model at batch $batch: micro-batch $have, expected $want"
done
[[ $(micro_of --model mlp300 --batch 2048 --micro-batch 32) == 32 ]] ||
  fail "an explicit --micro-batch 32 was not kept"
micro_of --model mlp300 --batch 2048 --micro-batch 0 >/dev/null
one=$(sha "$WORK/micro.json")
"${MPIRUN[@]}" -np 2 "$DPTRAIN" train --data "$DATA" --threads 1 --epochs 1 --val 55000 --json \
  --model mlp300 --batch 2048 | tail -1 >"$WORK/micro2.json" || fail "mlp300 on 2 ranks"
[[ $(sha "$WORK/micro2.json") == "$one" ]] || fail "mlp300's default micro-batch: 2 ranks differ"
echo "ok: the default micro-batch (mlp300: 256 at batch 2048, 64 at 512; 32 with BatchNorm)"

# One seed-list parser, one message.
expect_error 2 "^dptrain train: --seeds 3-1: expected seeds such as 1-8 or 1,4,9$" \
  "$DPTRAIN" train --seeds 3-1
printf '[experiment]\nname = x\nseeds = 1-x\n' >"$WORK/bad.ini"
expect_error 1 "bad.ini:3: seeds = 1-x: expected seeds such as 1-8 or 1,4,9$" "$DPTRAIN" runs "$WORK/bad.ini"
printf '[experiment]\nname = x\nseeds = 4, 1-2\n' >"$WORK/list.ini"
[[ $("$DPTRAIN" runs "$WORK/list.ini" --count) == 3 ]] || fail "seeds = 4, 1-2: not 3 runs"
[[ $("$DPTRAIN" runs "$WORK/list.ini" --run 0 | tr '\n' ' ') == "--seed 4 "* ]] ||
  fail "seeds = 4, 1-2: run 0: $("$DPTRAIN" runs "$WORK/list.ini" --run 0 | tr '\n' ' ')"
echo "ok: seed lists"
echo "PASS"
