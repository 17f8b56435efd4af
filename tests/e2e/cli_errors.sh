#!/usr/bin/env bash
# Bad input gets one line naming the place and the problem, and a non-zero exit.
source "$(dirname "$0")/lib.sh"
T="$DPTRAIN train --epochs 1"
expect_error 2 "--lr abc: expected a number" $T --lr abc
expect_error 2 "--batch 0: expected a whole number from 1 to 1048576" $T --batch 0
expect_error 2 "unknown option or missing value '--frobnicate'" $T --frobnicate
expect_error 2 "--opt lbfgs: unknown optimizer" $T --opt lbfgs
expect_error 2 "--sched exp:2: GAMMA/FACTOR must be in" $T --sched exp:2
# Every number bounded before any work; memory checked against the machine's before allocating.
expect_error 2 "--threads 100000000: expected a whole number from 1 to 256" $T --threads 100000000
expect_error 2 "--batch 2147483647: expected a whole number from 1 to 1048576" $T --batch 2147483647
expect_error 2 "--epochs 1000001: expected a whole number from 1 to 1000000" $T --epochs 1000001
expect_error 2 "--out '': expected a value, not an empty one" $T --out ""
expect_error 1 "these settings need about [0-9]+ MiB \(1 micro-batch gradient buffer of 12.4 MiB, 1 workspace of 1048576 samples of [0-9.]+ MiB, history of 1 steps\) but [0-9]+ MiB are available" \
  $T --data "$DATA" --model "linear(4096) relu linear(10)" --batch 1048576 --micro-batch 1048576 --threads 1 --train-samples 100
expect_error 1 "--nesterov needs --opt sgd with --momentum > 0" $T --data "$DATA" --nesterov
expect_error 1 "$WORK/none: No such file or directory \(--data takes an IDX folder" $T --data "$WORK/none"
mkdir "$WORK/empty"
expect_error 1 "$WORK/empty/train-images-idx3-ubyte: no such file" $T --data "$WORK/empty"

# A truncated IDX file: one line naming the file and the problem.
mkdir "$WORK/cut"
for f in "$DATA"/*; do ln -s "$(readlink -f "$f")" "$WORK/cut/$(basename "$f")"; done
rm "$WORK/cut"/train-images-idx3-ubyte*
head -c 1000000 "$DATA/train-images-idx3-ubyte" >"$WORK/cut/train-images-idx3-ubyte"
expect_error 1 "$WORK/cut/train-images-idx3-ubyte: truncated: header promises 60000 items \(47040000 bytes\)" \
  $T --data "$WORK/cut"

# More threads than the cores mpirun bound the rank to: said in one line, with the fix.
mpirun -np 1 --bind-to core "$DPTRAIN" train --data "$DATA" --threads 2 --epochs 1 --train-samples 100 \
  --val 100 --test-samples 100 >/dev/null 2>"$WORK/bound" || fail "bound run failed: $(cat "$WORK/bound")"
grep -q "rank 0: 2 threads, but this process may run on 1 core only (its affinity): they will share it; under mpirun pass --bind-to none" "$WORK/bound" ||
  fail "no word on 2 threads bound to 1 core: $(cat "$WORK/bound")"
echo "ok: $(cat "$WORK/bound")"

# A FIFO or a device where a file is expected is refused at once, never waited on.
mkfifo "$WORK/fifo"
expect_error 1 "fifo: not a regular file" timeout 10 "$DPTRAIN" runs "$WORK/fifo"
expect_error 1 "fifo: not a regular file" timeout 10 "$DPTRAIN" eval "$WORK/fifo"
expect_error 1 "fifo: not a regular file" timeout 10 $T --data "$DATA" --resume "$WORK/fifo"
mkdir "$WORK/dev"
for f in "$DATA"/*; do ln -s "$(readlink -f "$f")" "$WORK/dev/$(basename "$f")"; done
rm "$WORK/dev"/t10k-labels-idx1-ubyte*
ln -s /dev/zero "$WORK/dev/t10k-labels-idx1-ubyte"
expect_error 1 "t10k-labels-idx1-ubyte: not a regular file" timeout 10 $T --data "$WORK/dev"

# Divergence stops the run with the epoch and step, not a page of NaNs.
expect_error 1 "training diverged at epoch 1, step [0-9]+ of 860" \
  $T --data "$DATA" --lr 1e30
# A loss still finite but past what the exact sums hold (it wrapped to a negative train loss).
expect_error 1 "training diverged at epoch 1, step 3 of 32: the loss or a gradient is NaN, infinite or beyond 2\\^30 \\(lr 1e\\+06\\)" \
  $T --data "$DATA" --model mlp300 --lr 1e6 --train-samples 2000 --val 100 --threads 1
# Experiment files: one line naming the file, the line and the problem.
printf '[experiment]\nname = x\nseeds = 1-2\n[train]\nmodle = cnn2710\n' >"$WORK/typo.ini"
expect_error 1 "typo.ini:5: 'modle' is not a dptrain train option" "$DPTRAIN" runs "$WORK/typo.ini"
printf '[experiment]\nname = x\nseeds = 1\n[grid]\nseed = 1, 2\n' >"$WORK/seed.ini"
expect_error 1 "seed.ini:5: 'seed' is set by the runner, not the file" "$DPTRAIN" runs "$WORK/seed.ini"
printf '[experiment]\nname = x\n' >"$WORK/noseeds.ini"
expect_error 1 "noseeds.ini: \[experiment\] needs seeds" "$DPTRAIN" runs "$WORK/noseeds.ini"
printf '[experiment]\nname = x\nseeds = 1-2\n[grid]\nlr = 0.1, 0.2\nwd = 0, 0.01\n' >"$WORK/grid.ini"
[[ $("$DPTRAIN" runs "$WORK/grid.ini" --count) == 8 ]] || fail "2 x 2 grid x 2 seeds is not 8 runs"
[[ $("$DPTRAIN" runs "$WORK/grid.ini" --run 5 | tr '\n' ' ') == "--lr 0.2 --wd 0 --seed 2 --out runs/x/lr=0.2,wd=0 --resume auto " ]] ||
  fail "run 5: $("$DPTRAIN" runs "$WORK/grid.ini" --run 5 | tr '\n' ' ')"
# Values are checked when the file is read (with the line), [quick] too; names, ranks, seeds.
bad_ini() { # bad_ini NAME CONTENT PATTERN
  printf "$2" >"$WORK/$1.ini"
  expect_error 1 "$1.ini$3" "$DPTRAIN" runs "$WORK/$1.ini"
}
bad_ini lr '[experiment]\nname = x\nseeds = 1\n[train]\nlr = banana\n' ":5: --lr banana: expected a number"
bad_ini gridlr '[experiment]\nname = x\nseeds = 1\n[grid]\nlr = 0.1, x\n' ":5: --lr x: expected a number"
bad_ini quick '[experiment]\nname = x\nseeds = 1\n[quick]\nepochs = -3\n' ": \\[quick\\]: --epochs -3: expected a whole number from 1 to 1000000"
bad_ini ranks '[experiment]\nname = x\nseeds = 1\nranks = 2abc\n' ":4: ranks = 2abc: expected a whole number >= 1"
bad_ini name '[experiment]\nname = ..\nseeds = 1\n' ":2: name '..': a folder name"
bad_ini twice '[experiment]\nname = x\nseeds = 1,2,1\n' ":3: seeds = 1,2,1: seed 1 is listed twice"
expect_error 2 "--seeds 1-3,2: seed 2 is listed twice" $T --seeds 1-3,2
# A grid past any sane run count (and past int: 24^6 points x 1024 seeds) is refused at once.
values=$(seq -s, 24)
printf '[experiment]\nname = x\nseeds = 1-1024\n[grid]\n' >"$WORK/huge.ini"
for k in lr wd batch epochs val split-seed; do echo "$k = $values" >>"$WORK/huge.ini"; done
expect_error 1 "huge.ini: 191102976 grid points x 1024 seeds = 195689447424 runs, more than 100000" \
  "$DPTRAIN" runs "$WORK/huge.ini"
# 1024 seeds of 20 digits: --point lists them all.
printf '[experiment]\nname = x\nseeds = 18446744073709550592-18446744073709551615\n' >"$WORK/long.ini"
seeds=$("$DPTRAIN" runs "$WORK/long.ini" --point 0 | sed -n 2p)
[[ $(tr ',' '\n' <<<"$seeds" | wc -l) == 1024 && $seeds == *,18446744073709551615 ]] ||
  fail "--point with 1024 long seeds: ${seeds:0:80}..."
echo "ok: experiment files"
echo "PASS"
