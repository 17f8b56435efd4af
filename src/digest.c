#include "dptrain/digest.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "param_sha256 hashes the buffer as stored: little-endian hosts only");

void dpt_sha256_hex(const void *const *parts, const size_t *sizes, int n,
                    char hex[DPT_DIGEST_HEX]) {
    unsigned char md[32];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    for (int i = 0; i < n; i++) EVP_DigestUpdate(ctx, parts[i], sizes[i]);
    EVP_DigestFinal_ex(ctx, md, NULL);
    EVP_MD_CTX_free(ctx);
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

void dpt_bytes_sha256(const void *data, size_t size, char hex[DPT_DIGEST_HEX]) {
    const void *parts[] = {data};
    dpt_sha256_hex(parts, &size, 1, hex);
}

void dpt_param_sha256(const float *params, size_t n, char hex[DPT_DIGEST_HEX]) {
    dpt_bytes_sha256(params, n * sizeof *params, hex);
}

uint64_t dpt_digest_prefix(const char *hex) {
    char first[17];
    snprintf(first, sizeof first, "%s", hex);
    return strtoull(first, NULL, 16);
}
