/* HOT_LOOP marks a function compiled twice on x86-64 with gcc, for any CPU and for AVX-512
   (x86-64-v4), the copy chosen at run time. Only for loops whose every operation gives the same
   bits either way (exact integer work, copies and compares, correctly rounded conversions and
   IEEE arithmetic: -std=c17 keeps gcc from contracting a*b+c into an FMA): results must not
   depend on the CPU. */
#ifndef DPTRAIN_HOT_LOOP_H
#define DPTRAIN_HOT_LOOP_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define HOT_LOOP __attribute__((target_clones("default", "arch=x86-64-v4")))
#else
#define HOT_LOOP
#endif

#endif
