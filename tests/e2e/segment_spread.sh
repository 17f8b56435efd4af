#!/usr/bin/env bash
# scripts/spread on a tiny segmentation experiment (issue 10, seed 002's U-Net study): U-Net and
# U-Net with ELU, 2 seeds, 1 epoch; the spread plots (loss and mean F1, min-max bands, log-x) and
# the table with mean F1 and mean IoU columns and z-scores of final test mean F1.
source "$(dirname "$0")/lib.sh"
start=$SECONDS
"$SCRIPTS/make_mnist_seg" "$DATA" "$WORK/seg" --train 120 --test 40 --size 32 \
  2>"$WORK/make.err" >/dev/null || fail "make_mnist_seg: $(tail -c 300 "$WORK/make.err")"
cat >"$WORK/seg.ini" <<INI
[experiment]
name = segtiny
description = a tiny U-Net study for the tests
seeds = 1-2
ranks = 1
[train]
data = $WORK/seg
val = 40
opt = adam
lr = 0.003
batch = 16
micro-batch = 8
epochs = 1
threads = 1
[grid]
model = unet, unet-elu
INI
DPTRAIN=$DPTRAIN "$SCRIPTS/spread" "$WORK/seg.ini" --root "$WORK/runs" --np 2 >"$WORK/log" 2>&1 ||
  fail "spread failed: $(tail -5 "$WORK/log")"
dir=$WORK/runs/segtiny
for png in curves-model=unet curves-model=unet-elu spread-epoch spread-batch; do
  [[ $(python3 "$(dirname "$0")/png_size.py" "$dir/$png.png") == 1200x450 ]] || fail "$png.png size"
done
[[ ! -e $dir/sweep.png ]] || fail "sweep.png for a non-numeric grid"
echo "ok: spread and plots in $((SECONDS - start)) s"
/usr/bin/python3 - "$dir" <<'PY' || fail "table.md: $(cat "$dir/table.md")"
import json, math, re, sys
d = sys.argv[1]
table = open(f"{d}/table.md").read()
head = next(l for l in table.splitlines() if l.startswith("| configuration |"))
cols = [c.strip() for c in head.strip("|").split("|")]
for c in ("test mean F1", "test mean IoU", "test pixel accuracy"):
    assert c in cols, (c, cols)
finals = {}
for m in ("unet", "unet-elu"):
    res = [json.load(open(f"{d}/model={m}/seed-{s}/result.json"))["final"] for s in (1, 2)]
    row = next(l for l in table.splitlines() if l.startswith(f"| model={m} |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    for col, key in (("test mean F1", "test_f1"), ("test mean IoU", "test_iou")):
        mean, sd, lo, hi = map(float, re.fullmatch(r"([0-9.]+) ± ([0-9.]+) \(([0-9.]+) – ([0-9.]+)\)",
                                                   cells[cols.index(col)]).groups())
        vals = [r[key] for r in res]
        assert 0 <= lo <= mean <= hi <= 1, (m, col, cells)
        assert abs(mean - sum(vals) / 2) < 6e-5 and abs(lo - min(vals)) < 6e-5 and abs(hi - max(vals)) < 6e-5, (m, col, vals)
    finals[m] = [r["test_f1"] for r in res]
    print(f"ok: table model={m}: mean F1 {cells[cols.index('test mean F1')]} of {finals[m]}")
assert "z-score of final test mean F1" in table, table
zrow = next(l for l in table.splitlines() if l.startswith("| model=unet |") and "±" not in l)
z = float(zrow.strip("|").split("|")[2])
def var(v): m = sum(v) / 2; return sum((x - m) ** 2 for x in v)  # ddof 1 of 2 values
a, b = finals["unet"], finals["unet-elu"]
# One epoch of 8 steps often predicts background everywhere: every seed the same F1, no spread,
# and plot.py's z-score is then inf, as for accuracy.
spread = math.sqrt(var(a) + var(b))
want = (sum(a) / 2 - sum(b) / 2) / spread if spread > 0 else math.inf
assert abs(z - want) < 0.011 * max(1, abs(want)) if math.isfinite(want) else z == want, (z, want)
print(f"ok: z-score unet vs unet-elu {z:+.2f} (expected {want:+.2f})")
PY

# The z-scores where the seeds differ: the runs' final test mean F1 set by hand in copies of
# their checkpoints, and the table made again.
cp -r "$dir" "$WORK/fake"
/usr/bin/python3 - "$WORK/fake" <<'PY' || fail "setting test_f1 in the checkpoints"
import sys, h5py
for (m, s), f1 in {("unet", 1): 0.50, ("unet", 2): 0.60, ("unet-elu", 1): 0.40, ("unet-elu", 2): 0.45}.items():
    with h5py.File(f"{sys.argv[1]}/model={m}/seed-{s}/checkpoint.h5", "r+") as f:
        f["history/test_f1"][-1] = f1
PY
python3 "$SCRIPTS/plot.py" "$WORK/fake" >"$WORK/plot.log" 2>&1 || fail "plot.py: $(cat "$WORK/plot.log")"
grep -q "(segmentation)" "$WORK/plot.log" || fail "plot.py did not see segmentation runs: $(cat "$WORK/plot.log")"
# (0.55 - 0.425) / sqrt(0.005 + 0.00125) = +1.58
grep -Fq "| model=unet |  | +1.58 |" "$WORK/fake/table.md" || fail "z-score: $(cat "$WORK/fake/table.md")"
grep -Fq "| model=unet-elu | -1.58 |  |" "$WORK/fake/table.md" || fail "z-score: $(cat "$WORK/fake/table.md")"
grep -Fq "| model=unet | 116,923 | 2 | 1 | 0.5500 ± 0.0707 (0.5000 – 0.6000) |" "$WORK/fake/table.md" ||
  fail "mean F1 cell: $(cat "$WORK/fake/table.md")"
echo "ok: z-score of final test mean F1 +1.58 where the seeds differ"
echo "PASS ($((SECONDS - start)) s)"
