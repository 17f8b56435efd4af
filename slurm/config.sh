# Site settings for slurm/submit: edit once for your cluster. Empty means the cluster's default.
SLURM_PARTITION=""
SLURM_ACCOUNT=""
SLURM_TIME="02:00:00"       # per run (array task) or per allocation (--one-allocation)
SLURM_MEM_PER_CPU="2G"
SLURM_CPUS_PER_RANK=1       # cores per MPI rank; dptrain uses them as threads
SLURM_SIGNAL_SECONDS=120    # warn the job this long before its time limit: it checkpoints
