#include "dptrain/sysmem.h"

#include <stdio.h>

double dpt_memory_available(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return -1;
    char line[256];
    double kib = -1;
    while (kib < 0 && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lf kB", &kib) != 1) kib = -1;
    fclose(f);
    return kib < 0 ? -1 : kib * 1024;
}
