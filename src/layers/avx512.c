#include "avx512.h"

#include <stdlib.h>
#include <string.h>

int dpt_avx512(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

int dpt_own_kernels(void) {
    const char *off = getenv("DPTRAIN_OWN_KERNELS");
    return dpt_avx512() && !(off && strcmp(off, "0") == 0);
}
