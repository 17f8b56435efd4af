/* Wall-clock time for measurements (epoch times, reduction waits). */
#ifndef DPTRAIN_TIMING_H
#define DPTRAIN_TIMING_H

/* Seconds on the monotonic clock. */
double dpt_now(void);

#endif
