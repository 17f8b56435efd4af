/* Stall detection (--stall-timeout): a rank that has waited for the others longer than the
   timeout asks every rank whether it is alive. A rank that does not answer within the grace
   time (dpt_watch_grace) is named on stderr by each waiting rank, and the job is stopped with
   MPI_Abort. A rank
   answers while it waits in a watched collective and from long local work that calls
   dpt_watch_answer, so a slow rank (rank 0 evaluating, say) is never taken for a stopped one.

   Process-wide state; only the thread that initialized MPI calls these (MPI_THREAD_FUNNELED).
   Before dpt_watch_start, or with a timeout of 0, the waits are plain MPI waits. */
#ifndef DPTRAIN_WATCH_H
#define DPTRAIN_WATCH_H

#include <mpi.h>

#include "dptrain/error.h"

#define DPT_DEFAULT_STALL_TIMEOUT 300

/* Collective over world: starts watching, with questions and answers on a copy of world. */
int dpt_watch_start(MPI_Comm world, int timeout_seconds, dpt_err *err);

/* Collective over world: stops watching. */
void dpt_watch_stop(void);

/* How long a rank may take to answer once asked, for a timeout: the timeout itself below
   10 s, else 10 s or a tenth of the timeout, whichever is longer. */
double dpt_watch_grace(double timeout_seconds);

/* MPI_Wait, watched: `what` names what is waited for in the stall message ("the gradient
   sums"). Returns MPI's error code; does not return on a stall. */
int dpt_watch_wait(MPI_Request *request, const char *what);

/* In-place MPI_Allreduce and MPI_Bcast, watched. Return MPI's error code. */
int dpt_watch_allreduce(void *buf, int count, MPI_Datatype type, MPI_Op op, MPI_Comm comm,
                        const char *what);
int dpt_watch_bcast(void *buf, int count, MPI_Datatype type, int root, MPI_Comm comm,
                    const char *what);

/* Answers any rank that asked whether this one is alive; cheap enough to call between chunks
   of local work. */
void dpt_watch_answer(void);

#endif
