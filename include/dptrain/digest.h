/* SHA-256 digests (OpenSSL) of parameters, datasets and configurations, in hex. */
#ifndef DPTRAIN_DIGEST_H
#define DPTRAIN_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define DPT_DIGEST_HEX 65

/* The digest of the concatenation of parts[i][0..sizes[i]). */
void dpt_sha256_hex(const void *const *parts, const size_t *sizes, int n, char hex[DPT_DIGEST_HEX]);

/* SHA-256 of data[0..size), as stored (little-endian): what checkpoint datasets carry. */
void dpt_bytes_sha256(const void *data, size_t size, char hex[DPT_DIGEST_HEX]);

/* SHA-256 of the parameters as little-endian float32 bytes: the `param_sha256` that runs are
   compared by. */
void dpt_param_sha256(const float *params, size_t n, char hex[DPT_DIGEST_HEX]);

/* The first 64 bits of a hex digest, to compare across ranks in one integer. */
uint64_t dpt_digest_prefix(const char *hex);

#endif
