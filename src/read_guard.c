#define _XOPEN_SOURCE 700
#include "dptrain/read_guard.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};
enum { NFATAL = sizeof fatal_signals / sizeof fatal_signals[0] };

/* The messages, written in full before the read: a handler may only write(2) and _exit. */
static char crashed[4608], timed_out[4608];
static struct sigaction previous[NFATAL], previous_alarm;
static char alternate_stack[1 << 16]; /* so that a stack overflow can still be reported */

static void say_and_exit(const char *message) {
    ssize_t ignored = write(STDERR_FILENO, message, strlen(message));
    (void)ignored;
    _exit(1);
}

static void on_crash(int sig) {
    (void)sig;
    say_and_exit(crashed);
}

static void on_alarm(int sig) {
    (void)sig;
    say_and_exit(timed_out);
}

static unsigned time_limit(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    const char *env = getenv("DPTRAIN_READ_SECONDS");
    const double base = env && atof(env) > 0 ? atof(env) : DPT_READ_SECONDS;
    const double seconds = base + (double)st.st_size / 1e6;
    return seconds < 1e6 ? (unsigned)seconds : 1000000u;
}

void dpt_read_guard_begin(const char *who, const char *path) {
    const unsigned limit = time_limit(path);
    snprintf(crashed, sizeof crashed,
             "%s: %s: reading it crashed (HDF5 1.10 does on some damaged files): the file is "
             "damaged\n",
             who, path);
    snprintf(timed_out, sizeof timed_out,
             "%s: %s: still reading after %u s (HDF5 1.10 loops on some damaged files): the file "
             "is damaged or its file system hangs (the limit: DPTRAIN_READ_SECONDS, default %d, "
             "plus 1 s per MB)\n",
             who, path, limit, DPT_READ_SECONDS);
    const stack_t stack = {.ss_sp = alternate_stack, .ss_size = sizeof alternate_stack};
    sigaltstack(&stack, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_ONSTACK;
    sa.sa_handler = on_crash;
    for (int i = 0; i < NFATAL; i++) sigaction(fatal_signals[i], &sa, &previous[i]);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, &previous_alarm);
    alarm(limit);
}

void dpt_read_guard_end(void) {
    alarm(0);
    sigaction(SIGALRM, &previous_alarm, NULL);
    for (int i = 0; i < NFATAL; i++) sigaction(fatal_signals[i], &previous[i], NULL);
}
