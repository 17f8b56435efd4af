/* SIGTERM and SIGUSR1 (how SLURM warns of a time limit or preemption) and a first SIGINT ask
   training to stop at the next step boundary after a checkpoint; a second SIGINT stops at once. */
#ifndef DPTRAIN_SIGNALS_H
#define DPTRAIN_SIGNALS_H

/* Exit status of a run that stopped on such a signal after writing its checkpoint (EX_TEMPFAIL:
   try again later, with --resume auto). */
#define DPT_EXIT_STOPPED 75

/* Before MPI_Init, so that a signal during start-up is not lost (a command started in the
   background by a script begins with SIGINT ignored). The first signal is announced on stderr.
   Also ignores SIGXFSZ: a file-size limit then makes writes fail with EFBIG, reported like a
   full disk, instead of killing the process. */
void dpt_signals_install(void);
/* No announcement: for every rank but rank 0, which alone speaks for the run. */
void dpt_signals_quiet(void);
/* The signal asked for, or 0. */
int dpt_stop_signal(void);

#endif
