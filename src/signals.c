#include "dptrain/signals.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t requested;
static volatile sig_atomic_t announce = 1;

static void on_signal(int sig) {
    if (sig == SIGINT && requested == SIGINT) _exit(128 + SIGINT); /* the second Ctrl-C */
    if (!requested && announce) {
        static const char on_int[] = "dptrain: Ctrl-C: stopping after this step to write the "
                                     "checkpoint (Ctrl-C again stops at once, without it)\n";
        static const char on_other[] = "dptrain: signal: stopping after this step to write the "
                                       "checkpoint\n";
        const int is_int = sig == SIGINT;
        ssize_t ignored = write(STDERR_FILENO, is_int ? on_int : on_other,
                                is_int ? sizeof on_int - 1 : sizeof on_other - 1);
        (void)ignored;
    }
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
    /* A file-size limit makes writes fail with EFBIG, reported like a full disk, not kill us. */
    signal(SIGXFSZ, SIG_IGN);
}

void dpt_signals_quiet(void) {
    announce = 0;
}

int dpt_stop_signal(void) {
    return requested;
}
