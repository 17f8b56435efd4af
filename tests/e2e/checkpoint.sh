#!/usr/bin/env bash
# Checkpoints: exact resume (also on another rank count), a stop by SIGTERM in mid-epoch, eval,
# predict, h5dump and the Python reader.
source "$(dirname "$0")/lib.sh"
COMMON=(--data "$DATA" --model cnn2710 --batch 100 --val 50000 --threads 1 --json)
train() { local np=$1; shift; "${MPIRUN[@]}" -np "$np" "$DPTRAIN" train "${COMMON[@]}" "$@"; }

train 1 --epochs 4 --out "$WORK/straight" >"$WORK/straight.json"
want=$(sha "$WORK/straight.json")

# 2 epochs, then 2 more from the checkpoint.
train 1 --epochs 2 --out "$WORK/split" >/dev/null
train 1 --epochs 4 --out "$WORK/split" --resume auto >"$WORK/split.json"
[[ $(sha "$WORK/split.json") == "$want" ]] || fail "2 + 2 epochs differ from 4 straight"
python3 - "$WORK/straight.json" "$WORK/split.json" <<'PY' || fail "histories differ"
import json, sys
a, b = (json.loads(open(p).read().splitlines()[-1])["history"] for p in sys.argv[1:])
keys = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "lr"]
assert [[e[k] for k in keys] for e in a] == [[e[k] for k in keys] for e in b]
# Timings differ from run to run, but the resumed run kept those of its first two epochs.
assert all(e["reduce_wait_seconds"] > 0 for e in b), [e["reduce_wait_seconds"] for e in b]
PY
echo "ok: 4 epochs straight = 2 + 2 resumed: $want"

# A checkpoint written before a setting existed (here --test-samples) continues at the setting's
# default, which is what it ran with, and at no other value.
train 1 --epochs 2 --out "$WORK/old" >/dev/null
/usr/bin/python3 - "$WORK/old/seed-1/checkpoint.h5" <<'PY'
import sys
import h5py
with h5py.File(sys.argv[1], "r+") as f:
    del f["config"].attrs["test_samples"]
PY
expect_error 1 "checkpoint.h5: /config lacks test_samples \(written before it existed" \
  "$DPTRAIN" train "${COMMON[@]}" --epochs 4 --out "$WORK/old" --resume auto --test-samples 100
train 1 --epochs 4 --out "$WORK/old" --resume auto >"$WORK/old.json"
[[ $(sha "$WORK/old.json") == "$want" ]] || fail "a checkpoint lacking test_samples resumed differently"
echo "ok: a checkpoint lacking a newer setting resumes at its default, to the same weights"

# A 2-rank run resumed on 3 ranks.
train 2 --epochs 2 --out "$WORK/ranks" >/dev/null
train 3 --epochs 4 --out "$WORK/ranks" --resume auto >"$WORK/ranks.json"
[[ $(sha "$WORK/ranks.json") == "$want" ]] || fail "2 ranks resumed on 3 differ"
echo "ok: 2 ranks, resumed on 3 ranks, same weights"

# SIGTERM in the middle of an epoch: the step finishes, the checkpoint is written, status 75.
term_after_epoch_1 term 4 "${COMMON[@]}" --out "$WORK/term"
grep -q "stopped by signal 15 at epoch" "$WORK/term.err" || fail "no stop message"
echo "ok: SIGTERM: $(tail -1 "$WORK/term.err")"
train 1 --epochs 4 --out "$WORK/term" --resume auto >"$WORK/term.json"
[[ $(sha "$WORK/term.json") == "$want" ]] || fail "run stopped by SIGTERM and resumed differs"
echo "ok: resumed after SIGTERM, same weights"

# A first Ctrl-C is announced at once; a second stops at once (status 130), without waiting for
# the step to end (one step of 2,048 samples of cnn50-100 takes seconds on one thread).
"$DPTRAIN" train --data "$DATA" --model cnn50-100 --batch 2048 --val 50000 --threads 1 --epochs 1 \
  --out "$WORK/int" >"$WORK/int.log" 2>&1 &
pid=$!
wait_for 60 "$WORK/int.log" "^model"
kill -INT "$pid"
wait_for 10 "$WORK/int.log" "stopping at the end of this step"
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
[[ $rc == 130 ]] || fail "two SIGINTs: exit $rc, expected 130: $(cat "$WORK/int.log")"
[[ ! -e $WORK/int/seed-1/checkpoint.h5 ]] || fail "a checkpoint was written after the second SIGINT"
echo "ok: a second SIGINT stops at once"

# The checkpoint documents itself and opens in h5py with the history the run printed.
ckpt=$WORK/straight/seed-1/checkpoint.h5
h5dump -H "$ckpt" >"$WORK/dump"
for g in meta config model optim sched position rng history; do
  grep -q "GROUP \"$g\"" "$WORK/dump" || fail "h5dump shows no /$g"
done
grep -q 'ATTRIBUTE "units"' "$WORK/dump" || fail "no units attributes"
[[ -f $WORK/straight/seed-1/best.h5 ]] || fail "no best.h5"
python3 "$SCRIPTS/dptrain_h5.py" "$ckpt" >"$WORK/reader" || fail "the Python reader failed"
/usr/bin/python3 - "$WORK/straight.json" "$ckpt" "$SCRIPTS" <<'PY' || fail "reader's history differs from the run's"
import json, sys
sys.path.insert(0, sys.argv[3])
import dptrain_h5
printed = json.loads(open(sys.argv[1]).read().splitlines()[-1])["history"]
run = dptrain_h5.load_run(sys.argv[2])
assert run.epochs == len(printed) == 4
for e, rec in enumerate(printed):
    for k in ("train_loss", "val_acc", "test_acc", "lr"):
        assert abs(run.history[k][e] - rec[k]) < 1e-9, (k, e)
assert len(run.batch["loss"]) == 4 * 100
print(f"ok: Python reader: {run}")
PY
echo "ok: h5dump groups, Python reader history matches"

# eval: the same test accuracy the run reported, into a separate file.
before=$(md5sum <"$ckpt")
"$DPTRAIN" eval "$ckpt" --data "$DATA" >"$WORK/eval" || fail "eval failed"
acc=$(json_get "$WORK/straight.json" '"%.4f" % d["final"]["test_acc"]')
grep -q "accuracy $acc" "$WORK/eval" || fail "eval accuracy differs from $acc: $(head -1 "$WORK/eval")"
[[ -f $WORK/straight/seed-1/eval-test.h5 ]] || fail "no eval-test.h5"
grep -q 'DATASET "confusion"' <<<"$(h5dump -H "$WORK/straight/seed-1/eval-test.h5")" || fail "no /eval/confusion"
[[ $(md5sum <"$ckpt") == "$before" ]] || fail "eval changed the checkpoint"
echo "ok: eval $(head -1 "$WORK/eval")"
python3 "$SCRIPTS/plot_eval.py" "$WORK/straight/seed-1/eval-test.h5" >/dev/null ||
  fail "plot_eval.py failed"
[[ $(python3 "$(dirname "$0")/png_size.py" "$WORK/straight/seed-1/confusion-test.png") == 700x600 ]] ||
  fail "confusion-test.png size"
[[ $(python3 "$(dirname "$0")/png_size.py" "$WORK/straight/seed-1/misclassified-test.png") == 1000x560 ]] ||
  fail "misclassified-test.png size"
echo "ok: confusion and misclassified plots"

# predict: a test image read back from a PNG.
label=$(python3 "$(dirname "$0")/make_png.py" "$DATA/t10k-images-idx3-ubyte" "$DATA/t10k-labels-idx1-ubyte" 0 "$WORK/digit.png")
"$DPTRAIN" predict "$ckpt" "$WORK/digit.png" >"$WORK/predict" || fail "predict failed"
grep -q "class $label " "$WORK/predict" || fail "predicted $(cat "$WORK/predict"), label $label"
echo "ok: $(cat "$WORK/predict")"

# Damage is refused in one line, never evaluated or resumed from: a block of zeros written over
# the middle of the largest dataset (what a bad disk block does), a NaN written with its digest
# made to match, a standardization that divides by zero, a position past the history.
damaged() { # damaged NAME PYTHON: a copy of the checkpoint, changed by PYTHON (h5py file f)
  mkdir -p "$WORK/$1/seed-1"
  cp "$ckpt" "$WORK/$1/seed-1/checkpoint.h5"
  /usr/bin/python3 - "$WORK/$1/seed-1/checkpoint.h5" "$2" <<'PY' || fail "damaging $1"
import hashlib, sys
import h5py, numpy as np
path, code = sys.argv[1], sys.argv[2]
def digest(ds):  # what dptrain stores: sha256 of the values' bytes
    ds.attrs["sha256"] = hashlib.sha256(np.asarray(ds).tobytes()).hexdigest()
def biggest(f):
    found = []
    f["model"].visititems(lambda n, o: found.append(o) if isinstance(o, h5py.Dataset) else None)
    return max(found, key=lambda d: d.size)
if code == "block":
    with h5py.File(path, "r") as f:
        ds = biggest(f)
        where, size = ds.id.get_offset(), ds.id.get_storage_size()
        print(ds.name)
    with open(path, "r+b") as raw:  # 512 bytes from the middle of its data
        raw.seek(where + size // 2 - 256)
        raw.write(bytes(512))
else:
    with h5py.File(path, "r+") as f:
        exec(code)
PY
}
biggest=$(damaged block block) # the largest dataset of /model
expect_error 1 "block/seed-1/checkpoint.h5: damaged: $biggest does not match its sha256" "$DPTRAIN" eval "$WORK/block/seed-1/checkpoint.h5"
expect_error 1 "block/seed-1/checkpoint.h5: damaged: $biggest does not match its sha256" \
  "$DPTRAIN" train "${COMMON[@]}" --epochs 5 --out "$WORK/block" --resume auto
damaged nan 'ds = biggest(f); v = ds[...]; v.flat[3] = np.nan; ds[...] = v; digest(ds)'
expect_error 1 "nan/seed-1/checkpoint.h5: $biggest\[3\] is nan: the run diverged or the file was edited" \
  "$DPTRAIN" eval "$WORK/nan/seed-1/checkpoint.h5"
damaged std 'f["meta"].attrs["std"] = np.zeros(1, np.float32)'
expect_error 1 "std/seed-1/checkpoint.h5: /meta mean 0.1307 and std 0 of channel 0 do not standardize" \
  "$DPTRAIN" predict "$WORK/std/seed-1/checkpoint.h5" "$WORK/digit.png"
damaged position 'f["position"].attrs["step"] = 10**6'
expect_error 1 "position/seed-1/checkpoint.h5: damaged: /position \(epoch 4, step 1000000\)" \
  "$DPTRAIN" train "${COMMON[@]}" --epochs 5 --out "$WORK/position" --resume auto
echo "ok: damaged checkpoints refused (a block of zeros, NaN, std 0, a position past the history)"
echo "PASS"
