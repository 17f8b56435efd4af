#include "dptrain/signals.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t requested;
static volatile sig_atomic_t announce = 1;

static void on_signal(int sig) {
    if (sig == SIGINT && requested == SIGINT) _exit(128 + SIGINT); /* the second Ctrl-C */
    if (!requested && announce) {
        const char *note = sig == SIGINT ? "dptrain: Ctrl-C: stopping at the end of this step "
                                           "(Ctrl-C again stops at once)\n"
                                         : "dptrain: signal: stopping at the end of this step\n";
        ssize_t ignored = write(STDERR_FILENO, note, strlen(note)); /* both async-signal-safe */
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
