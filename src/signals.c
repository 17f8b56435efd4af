#include "dptrain/signals.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t requested;

static void on_signal(int sig) {
    if (sig == SIGINT && requested == SIGINT) _exit(128 + SIGINT); /* the second Ctrl-C */
    requested = sig;
}

void dpt_signals_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

void dpt_signals_ignore_file_size(void) {
    signal(SIGXFSZ, SIG_IGN);
}

int dpt_stop_signal(void) {
    return requested;
}
