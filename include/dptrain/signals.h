/* SIGTERM and SIGUSR1 (how SLURM warns of a time limit or preemption) and a first SIGINT ask
   training to stop at the next step boundary after a checkpoint; a second SIGINT stops at once. */
#ifndef DPTRAIN_SIGNALS_H
#define DPTRAIN_SIGNALS_H

/* Exit status of a run that stopped on such a signal after writing its checkpoint (EX_TEMPFAIL:
   try again later, with --resume auto). */
#define DPT_EXIT_STOPPED 75

/* After MPI_Init, which installs handlers of its own. */
void dpt_signals_install(void);
/* A file-size limit then makes writes fail with EFBIG, reported like a full disk, instead of
   killing the process. Before MPI_Init, so that the processes it starts inherit it. */
void dpt_signals_ignore_file_size(void);
/* The signal asked for, or 0. */
int dpt_stop_signal(void);

#endif
