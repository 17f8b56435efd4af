/* Reading a fuzz input as a sequence of small values (like LLVM's FuzzedDataProvider): each
   read takes bytes from the front; once the input is used up, every read gives 0 (or "") so
   that the shortest inputs mean the defaults. */
#ifndef DPTRAIN_FUZZ_BYTES_H
#define DPTRAIN_FUZZ_BYTES_H

#include <stddef.h>
#include <stdint.h>

typedef struct fuzz_bytes {
    const uint8_t *data;
    size_t size, pos;
} fuzz_bytes;

static inline int fuzz_left(const fuzz_bytes *b) {
    return b->pos < b->size;
}
static inline uint8_t fuzz_u8(fuzz_bytes *b) {
    return b->pos < b->size ? b->data[b->pos++] : 0;
}
static inline uint32_t fuzz_u32(fuzz_bytes *b) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v = v << 8 | fuzz_u8(b);
    return v;
}
static inline uint64_t fuzz_u64(fuzz_bytes *b) {
    const uint64_t hi = fuzz_u32(b);
    return hi << 32 | fuzz_u32(b);
}
/* Any bit pattern: NaN, infinities and subnormals included. */
static inline double fuzz_double(fuzz_bytes *b) {
    union {
        uint64_t u;
        double d;
    } v = {.u = fuzz_u64(b)};
    return v.d;
}
static inline float fuzz_float(fuzz_bytes *b) {
    union {
        uint32_t u;
        float f;
    } v = {.u = fuzz_u32(b)};
    return v.f;
}
/* A string of up to `max` - 1 bytes (its length first), NUL-terminated into out. */
static inline void fuzz_text(fuzz_bytes *b, char *out, size_t max) {
    size_t n = fuzz_u8(b);
    if (n > max - 1) n = max - 1;
    for (size_t i = 0; i < n; i++) out[i] = (char)fuzz_u8(b);
    out[n] = 0;
}

#endif
