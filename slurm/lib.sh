# Shared by the sbatch scripts: run one dptrain step under srun so that the time-limit warning
# (#SBATCH --signal=B:USR1@...) reaches it, and requeue the job when dptrain stopped for it.
set -euo pipefail
: "${DPTRAIN_HOME:?run through slurm/submit, which sets DPTRAIN_HOME to the repository}"
DPTRAIN=${DPTRAIN:-$DPTRAIN_HOME/build/dptrain}
EXIT_STOPPED=75 # dptrain's status after a checkpoint on a signal (include/dptrain/signals.h)

# srun_dptrain ARGS...: srun --mpi=pmix over the job's tasks; USR1 to this shell is passed on.
srun_dptrain() {
  srun --mpi=pmix --kill-on-bad-exit=1 -n "$SLURM_NTASKS" "$DPTRAIN" "$@" &
  local pid=$! status=0
  trap 'echo "$(date +%T) time limit near: asking dptrain to checkpoint"; kill -USR1 "$pid"' USR1
  while :; do
    wait "$pid" && status=0 || status=$?
    # wait returns early (status > 128) when the trap ran; the step is still going then.
    kill -0 "$pid" 2>/dev/null || break
  done
  trap - USR1
  return "$status"
}

# requeue_if_stopped STATUS: after a checkpoint on the time-limit signal, put this job (or array
# task) back in the queue; it continues with --resume auto.
requeue_if_stopped() {
  local status=$1
  if ((status == EXIT_STOPPED)); then
    local id=${SLURM_ARRAY_JOB_ID:+${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}}
    echo "$(date +%T) checkpoint written; requeueing ${id:-$SLURM_JOB_ID}"
    scontrol requeue "${id:-$SLURM_JOB_ID}"
    exit 0
  fi
  return "$status"
}
