/* The machine's memory, to refuse settings that cannot fit before allocating anything. */
#ifndef DPTRAIN_SYSMEM_H
#define DPTRAIN_SYSMEM_H

/* Bytes available now without swapping (Linux's MemAvailable); -1 where it cannot be read. */
double dpt_memory_available(void);

#endif
