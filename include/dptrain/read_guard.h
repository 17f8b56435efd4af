/* HDF5 1.10 crashes (a segmentation fault) or loops forever on some damaged files
   (tests/fuzz/crashes). While a guard is up, such a crash, or a read of a file that takes longer
   than its time limit, ends the process with one line naming the file and status 1 (under
   mpirun, every rank then stops) instead of a core dump or a hang. For the commands' reads of
   checkpoints and datasets; the library's readers themselves stay unguarded, so that the fuzz
   harnesses see HDF5's faults. */
#ifndef DPTRAIN_READ_GUARD_H
#define DPTRAIN_READ_GUARD_H

/* Default time limit of a read, in seconds, plus one second per MB of the file; the environment
   variable DPTRAIN_READ_SECONDS replaces it. Reads of folders (IDX, PNG) have no time limit. */
#define DPT_READ_SECONDS 60

/* Raises the guard for reading `path`; `who` starts the message ("dptrain eval"). */
void dpt_read_guard_begin(const char *who, const char *path);

/* Lowers it: the signals' previous handlers return. */
void dpt_read_guard_end(void);

#endif
