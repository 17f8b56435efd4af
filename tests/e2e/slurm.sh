#!/usr/bin/env bash
# slurm/submit against a real one-node SLURM cluster (munged, slurmctld, slurmd started here):
# a job array and its dependent plot job; the same experiment in one allocation; a run warned
# of its time limit checkpoints, is requeued and ends with the weights of an uninterrupted run,
# run by mpirun inside an allocation.
source "$(dirname "$0")/lib.sh"
REPO=$(cd "$SCRIPTS/.." && pwd)
cluster=$WORK/cluster
trap '"$REPO/slurm/cluster.sh" stop "$cluster"; [[ -n ${KEEP:-} ]] || rm -rf "$WORK"' EXIT
eval "$("$REPO/slurm/cluster.sh" start "$cluster")"

# wait_jobs ID...: until each job has completed (jobcomp records it), or fail after 300 s.
wait_jobs() {
  for id in "$@"; do
    for _ in $(seq 1500); do
      grep -q "JobId=$id .*JobState=COMPLETED" "$cluster/jobcomp.txt" 2>/dev/null && break
      if grep -q "JobState=\(FAILED\|CANCELLED\|TIMEOUT\|NODE_FAIL\)" "$cluster/jobcomp.txt" 2>/dev/null; then
        fail "a job failed: $(grep "JobState=\(FAILED\|CANCELLED\|TIMEOUT\|NODE_FAIL\)" "$cluster/jobcomp.txt" | head -1) $(cat "$WORK"/*/*/slurm-*.out 2>/dev/null | head -5)"
      fi
      sleep 0.2
    done
    grep -q "JobId=$id .*JobState=COMPLETED" "$cluster/jobcomp.txt" || fail "job $id did not complete in 300 s"
  done
}
# same_as_array ROOT WHAT: the tiny experiment's runs under ROOT have the job array's weights.
same_as_array() {
  for run in "lr=0.001/seed-1" "lr=0.01/seed-2"; do
    [[ $(sha "$1/tiny/$run/result.json") == $(sha "$WORK/array/tiny/$run/result.json") ]] ||
      fail "$run: $2 differs from the array"
  done
}
job_ids() { sed -n 's/^\(runs\|plot\) job \([0-9]*\).*/\2/p' "$1"; }

# A job array over grid x seeds, then the plot job after it.
tiny_experiment "$WORK/tiny.ini"
"$REPO/slurm/submit" "$WORK/tiny.ini" --root "$WORK/array" >"$WORK/submit" || fail "submit failed"
cat "$WORK/submit"
ids=($(job_ids "$WORK/submit"))
wait_jobs "${ids[1]}"
check_experiment_outputs "$WORK/array/tiny"
[[ -s "$WORK/array/tiny/lr=0.01/seed-2/slurm.log" ]] || fail "no per-run log"
echo "ok: job array ${ids[0]} and plot job ${ids[1]}"

# The same runs in one allocation of 2 tasks (two seed groups of one rank): the same weights.
"$REPO/slurm/submit" "$WORK/tiny.ini" --root "$WORK/one" --one-allocation --ntasks 2 >"$WORK/submit" ||
  fail "submit --one-allocation failed"
ids=($(job_ids "$WORK/submit"))
wait_jobs "${ids[1]}"
same_as_array "$WORK/one" "one allocation"
echo "ok: one allocation (job ${ids[0]}) gives the array's weights"

# The same array on MNIST packed into one HDF5 file (what a cluster's file system wants): the
# same weights as on the IDX files.
"$DPTRAIN" data convert "$DATA" "$WORK/mnist.h5" >/dev/null || fail "data convert"
tiny_experiment "$WORK/tiny-h5.ini" 1 "$WORK/mnist.h5"
"$REPO/slurm/submit" "$WORK/tiny-h5.ini" --root "$WORK/h5" >"$WORK/submit" || fail "submit failed"
ids=($(job_ids "$WORK/submit"))
wait_jobs "${ids[1]}"
same_as_array "$WORK/h5" "training on the HDF5 dataset"
echo "ok: the array on an HDF5 dataset (job ${ids[0]}) gives the IDX files' weights"

# The time-limit warning: USR1 to the batch shell, as --signal=B:USR1@120 sends it.
long_experiment "$WORK/long.ini" 1 2
"$REPO/slurm/submit" "$WORK/long.ini" --root "$WORK/rq" >"$WORK/submit" || fail "submit failed"
ids=($(job_ids "$WORK/submit"))
log=$WORK/rq/long/seed-1/slurm.log
wait_for 60 "$log" "^epoch 1/3"
scancel --batch --signal=USR1 "${ids[0]}_0"
wait_for 30 "$log" "requeueing"
# SLURM holds a requeued job for two minutes; the test need not wait for that, only until the
# first attempt is gone, slurmstepd included (the second attempt reuses its step ids).
for _ in $(seq 600); do
  [[ $(squeue -h -j "${ids[0]}" -o %T) == PENDING ]] && ! pgrep -f "$WORK/rq/long" >/dev/null &&
    ! pgrep slurmstepd >/dev/null && break
  sleep 0.1
done
scontrol update JobId="${ids[0]}_0" StartTime=now
wait_jobs "${ids[1]}"
grep -q "resuming from .* at epoch 2" "$log" || fail "did not resume: $(cat "$log")"
# The uninterrupted run: plain mpirun inside an allocation of 2 tasks (it reads the allocation
# from SLURM's environment).
id=$(sbatch --parsable -n 2 -o "$WORK/straight.out" --wrap "mpirun $DPTRAIN train --data $DATA \
  --model cnn2710 --batch 100 --val 50000 --epochs 3 --threads 1 --json >$WORK/straight.json")
wait_jobs "$id"
grep -q "^dptrain .*: 2 ranks on 1 node" "$WORK/straight.json" ||
  fail "mpirun in the allocation: $(cat "$WORK/straight.out" "$WORK/straight.json")"
[[ $(sha "$WORK/rq/long/seed-1/result.json") == $(sha "$WORK/straight.json") ]] ||
  fail "requeued run differs from an uninterrupted one"
echo "ok: warned, checkpointed, requeued, resumed: the weights of an uninterrupted run (mpirun in an allocation)"

# Every shipped experiment file, at full size, is accepted unchanged: submitted while the
# partition is down (queued, never started: sbatch has no hold variable), its array checked
# against the file's run count, cancelled (experiments_quick runs them all).
scontrol update PartitionName=debug State=DOWN
for file in "$REPO"/scripts/experiments/*.ini; do
  "$REPO/slurm/submit" "$file" --root "$WORK/all" >"$WORK/submit" 2>&1 ||
    fail "submit $file: $(cat "$WORK/submit")"
  ids=($(job_ids "$WORK/submit"))
  runs=$("$DPTRAIN" runs "$file" --count)
  scontrol show job "${ids[0]}" | grep -q "ArrayTaskId=0-$((runs - 1)) " ||
    fail "$file: array is not 0-$((runs - 1)): $(scontrol show job "${ids[0]}" | head -3)"
  scancel "${ids[@]}"
done
scontrol update PartitionName=debug State=UP
echo "ok: slurm/submit accepts all $(ls "$REPO"/scripts/experiments/*.ini | wc -l) shipped experiment files"
echo "PASS"
