#!/usr/bin/env bash
# Every shipped experiment file (scripts/experiments/*.ini) runs at its [quick] size through
# scripts/reproduce --quick, and leaves a report.md whose table holds numbers and whose figures
# exist; index.md links them all. Then what --quick does to a file, and its errors.
source "$(dirname "$0")/lib.sh"
repo=$(cd "$SCRIPTS/.." && pwd)
[[ -d $repo/data/mnist-seg ]] || fail "no $repo/data/mnist-seg; run scripts/setup.sh"
start=$SECONDS
DPTRAIN=$DPTRAIN "$SCRIPTS/reproduce" --quick --root "$WORK/runs" --np 2 >"$WORK/log" 2>&1 ||
  fail "reproduce --quick failed: $(tail -5 "$WORK/log")"
echo "ok: reproduce --quick in $((SECONDS - start)) s"
for file in "$repo"/scripts/experiments/*.ini; do
  name=$(sed -n 's/^# \([^:]*\):.*/\1/p' < <("$DPTRAIN" runs "$file" --quick))
  dir=$WORK/runs/$name
  [[ $name == *-quick && -f $dir/report.md ]] || fail "$file: no report.md in $dir"
  grep -Fq "[$name]($name/report.md)" "$WORK/runs/index.md" || fail "index.md lacks $name"
  /usr/bin/python3 - "$dir" "$file" <<'PY' || fail "$dir/report.md: $(head -c 2000 "$dir/report.md")"
import os, re, sys
d, file = sys.argv[1], sys.argv[2]
report = open(f"{d}/report.md").read()
assert f"scripts/spread scripts/experiments/{os.path.basename(file)} --quick" in report, "rerun command"
rows = [l for l in report.splitlines() if l.startswith("| ") and "±" in l]
assert rows, "no result rows"
for row in rows:
    cells = row.strip("|").split("|")
    assert re.fullmatch(r" [0-9]{1,3}(,[0-9]{3})* ", cells[1]), (row, "parameters", cells[1])
    for c in cells[4:]:
        assert re.fullmatch(r" -?[0-9]+\.[0-9]{4} ± [0-9]+\.[0-9]{4} \(-?[0-9.]+ – -?[0-9.]+\) ", c), (row, c)
figures = re.findall(r"!\[[^]]*\]\(([^)]+)\)", report)
assert figures, "no figures"
for f in figures:
    with open(os.path.join(d, f), "rb") as png:
        assert png.read(8) == b"\x89PNG\r\n\x1a\n", f
print(f"ok: {os.path.basename(d)}: {len(rows)} result row(s), {len(figures)} figure(s)")
PY
done

# --quick: [quick] replaces seeds, a grid key's values and settings; the name gains -quick.
cat >"$WORK/q.ini" <<INI
[experiment]
name = q
seeds = 1-5
[train]
data = $DATA
epochs = 9
[grid]
lr = 0.1, 0.01, 0.001
[quick]
seeds = 7
lr = 0.5
epochs = 1
batch = 10
INI
[[ $("$DPTRAIN" runs "$WORK/q.ini" --count) == 15 ]] || fail "q.ini: not 15 runs"
args=$("$DPTRAIN" runs "$WORK/q.ini" --quick --root R --run 0 | tr '\n' ' ')
[[ $args == "--data $DATA --epochs 1 --batch 10 --lr 0.5 --seed 7 --out R/q-quick/lr=0.5 --resume auto " ]] ||
  fail "quick arguments: $args"
echo "ok: --quick: $args"
printf '[experiment]\nname = n\nseeds = 1\n' >"$WORK/none.ini"
expect_error 1 "none.ini: no \[quick\] section" "$DPTRAIN" runs "$WORK/none.ini" --quick
printf '[experiment]\nname = n\nseeds = 1\n[quick]\nbogus = 1\n' >"$WORK/bad.ini"
expect_error 1 "bad.ini:5: 'bogus' is not a dptrain train option" "$DPTRAIN" runs "$WORK/bad.ini"
printf '[experiment]\nname = n\nseeds = 1\n[quick]\nseeds = 0-x\n' >"$WORK/seeds.ini"
expect_error 1 "seeds.ini:5: seeds = 0-x" "$DPTRAIN" runs "$WORK/seeds.ini"

# [experiment] plot: plot.py options, checked at load (seed002-batchnorm asks for --log-x).
grep -Fq "seed002-batchnorm-quick/experiment.ini asks for --log-x" "$WORK/log" ||
  fail "plot.py did not take seed002-batchnorm's plot = --log-x"
printf '[experiment]\nname = n\nseeds = 1\nplot = --log-x --bogus\n' >"$WORK/plot.ini"
expect_error 1 "plot.ini:4: plot: '--bogus' is not a plot option" "$DPTRAIN" runs "$WORK/plot.ini"
echo "ok: plot = --log-x taken by plot.py, --bogus refused"

# [models]: named specs (continued on indented lines) run as their spec, and name the folder.
cat >"$WORK/m.ini" <<INI
[experiment]
name = m
seeds = 1
[models]
wide = conv(32,3,pad=1) relu maxpool(2)
    linear(classes)
[grid]
model = wide, mlp300
INI
args=$("$DPTRAIN" runs "$WORK/m.ini" --root R --run 0 | tr '\n' '|')
[[ $args == "--model|conv(32,3,pad=1) relu maxpool(2) linear(classes)|--seed|1|--out|R/m/model=wide|--resume|auto|" ]] ||
  fail "[models] arguments: $args"
[[ $("$DPTRAIN" runs "$WORK/m.ini" --root R --run 1 | sed -n 2p) == mlp300 ]] || fail "a preset in a grid beside [models]"
echo "ok: [models]: $args"
printf '[experiment]\nname = n\nseeds = 1\n[models]\na/b = mlp300\n' >"$WORK/mname.ini"
expect_error 1 "mname.ini:5: model name 'a/b'" "$DPTRAIN" runs "$WORK/mname.ini"
