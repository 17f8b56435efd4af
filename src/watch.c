#define _POSIX_C_SOURCE 200809L
#include "dptrain/watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dptrain/timing.h"

enum { TAG_QUESTION = 1, TAG_ANSWER = 2 };

/* A wait polls without pause for this long, then sleeps POLL_SLEEP_NS between polls: a short
   wait (most gradient sums) costs what MPI_Wait costs, a long one leaves the core free. */
#define SPIN_SECONDS 0.05
#define POLL_SLEEP_NS 200000L

static struct {
    MPI_Comm comm; /* a copy of world for questions and answers; MPI_COMM_NULL: not watching */
    int rank, size;
    double timeout, grace;
    int round;     /* this rank's latest question */
    int *answered; /* per rank: the latest of our questions it answered */
    int *reply;    /* per rank: our answer in flight to it (the round it asked about) */
} w = {.comm = MPI_COMM_NULL};

double dpt_watch_grace(double timeout) {
    if (timeout < 10) return timeout;
    return timeout / 10 > 10 ? timeout / 10 : 10;
}

int dpt_watch_start(MPI_Comm world, int timeout_seconds, dpt_err *err) {
    if (timeout_seconds <= 0) return 0;
    MPI_Comm_rank(world, &w.rank);
    MPI_Comm_size(world, &w.size);
    if (MPI_Comm_dup(world, &w.comm) != MPI_SUCCESS) {
        w.comm = MPI_COMM_NULL;
        return dpt_fail(err, "MPI_Comm_dup for the stall watch failed");
    }
    w.answered = calloc((size_t)w.size, sizeof *w.answered);
    w.reply = calloc((size_t)w.size, sizeof *w.reply);
    if (!w.answered || !w.reply) {
        dpt_watch_stop();
        return dpt_fail(err, "out of memory for the stall watch of %d ranks", w.size);
    }
    w.timeout = timeout_seconds;
    w.grace = dpt_watch_grace(w.timeout);
    w.round = 0;
    return 0;
}

void dpt_watch_stop(void) {
    if (w.comm != MPI_COMM_NULL) MPI_Comm_free(&w.comm);
    w.comm = MPI_COMM_NULL;
    free(w.answered);
    free(w.reply);
    w.answered = w.reply = NULL;
}

/* A message nobody waits for: sent and forgotten (MPI delivers it; its buffer stays put). */
static void post(int *value, int to, int tag) {
    MPI_Request request;
    if (MPI_Isend(value, 1, MPI_INT, to, tag, w.comm, &request) == MPI_SUCCESS)
        MPI_Request_free(&request);
}

void dpt_watch_answer(void) {
    if (w.comm == MPI_COMM_NULL) return;
    for (;;) {
        int pending;
        MPI_Status status;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, w.comm, &pending, &status);
        if (!pending) return;
        const int from = status.MPI_SOURCE;
        int round;
        MPI_Recv(&round, 1, MPI_INT, from, status.MPI_TAG, w.comm, MPI_STATUS_IGNORE);
        if (status.MPI_TAG == TAG_QUESTION) {
            w.reply[from] = round;
            post(&w.reply[from], from, TAG_ANSWER);
        } else if (round == w.round) {
            w.answered[from] = round;
        }
    }
}

static void ask_everyone(void) {
    static int question;
    question = ++w.round;
    w.answered[w.rank] = w.round;
    for (int r = 0; r < w.size; r++)
        if (r != w.rank) post(&question, r, TAG_QUESTION);
}

static int silent_count(void) {
    int n = 0;
    for (int r = 0; r < w.size; r++) n += w.answered[r] != w.round;
    return n;
}

/* The ranks that have not answered the latest question: "rank 2" or "ranks 2, 5" (the first
   few of many, then "..."). */
static void silent_names(char *text, size_t size) {
    const int n = silent_count();
    size_t len = (size_t)snprintf(text, size, "rank%s", n > 1 ? "s" : "");
    for (int r = 0, listed = 0; r < w.size; r++) {
        if (w.answered[r] == w.round) continue;
        if (len + 24 >= size) {
            snprintf(text + len, size - len, ", ...");
            return;
        }
        len += (size_t)snprintf(text + len, size - len, "%s %d", listed++ ? "," : "", r);
    }
}

static void pause_briefly(void) {
    const struct timespec nap = {0, POLL_SLEEP_NS};
    nanosleep(&nap, NULL);
}

/* Says which ranks are silent; keeps answering for a grace time, so that every other waiting
   rank finds them too and says so; then stops the job. */
static void stall(const char *what, double waited) {
    char silent[256];
    silent_names(silent, sizeof silent);
    fprintf(stderr,
            "dptrain: rank %d: waited %.0f s for %s; %s did not answer within %.0f s (stopped, "
            "hung, or its host unreachable): stopping every rank (--stall-timeout %.0f)\n",
            w.rank, waited, what, silent, w.grace, w.timeout);
    fflush(stderr);
    const double until = dpt_now() + w.grace;
    while (dpt_now() < until) {
        dpt_watch_answer();
        pause_briefly();
    }
    MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1); /* MPI_Abort does not return */
}

int dpt_watch_wait(MPI_Request *request, const char *what) {
    if (w.comm == MPI_COMM_NULL) return MPI_Wait(request, MPI_STATUS_IGNORE);
    const double start = dpt_now();
    double since = start; /* the wait, or the latest round that everyone answered */
    double asked = -1;    /* when the open question went out; -1: none open */
    for (;;) {
        int done;
        const int rc = MPI_Test(request, &done, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS || done) return rc;
        const double now = dpt_now();
        if (now - start > SPIN_SECONDS) pause_briefly();
        dpt_watch_answer();
        if (asked < 0 && now - since >= w.timeout) {
            ask_everyone();
            asked = now;
        } else if (asked >= 0) {
            if (silent_count() == 0)
                since = now, asked = -1; /* all alive: slow work somewhere; wait on */
            else if (now - asked >= w.grace)
                stall(what, now - start);
        }
    }
}

int dpt_watch_allreduce(void *buf, int count, MPI_Datatype type, MPI_Op op, MPI_Comm comm,
                        const char *what) {
    MPI_Request request;
    const int rc = MPI_Iallreduce(MPI_IN_PLACE, buf, count, type, op, comm, &request);
    return rc != MPI_SUCCESS ? rc : dpt_watch_wait(&request, what);
}

int dpt_watch_bcast(void *buf, int count, MPI_Datatype type, int root, MPI_Comm comm,
                    const char *what) {
    MPI_Request request;
    const int rc = MPI_Ibcast(buf, count, type, root, comm, &request);
    return rc != MPI_SUCCESS ? rc : dpt_watch_wait(&request, what);
}
