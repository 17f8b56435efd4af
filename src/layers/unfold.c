/* im2col and col2im (unfold.h). */
#include "unfold.h"

#include <stddef.h>
#include <string.h>

dpt_unfold dpt_unfold_make(int c, int h, int w, int k, int stride, int pad, int gh, int gw) {
    return (dpt_unfold){.c = c,
                        .h = h,
                        .w = w,
                        .k = k,
                        .stride = stride,
                        .pad = pad,
                        .gh = gh,
                        .gw = gw,
                        .rows = c * k * k,
                        .cols = gh * gw};
}

void dpt_unfold_valid_columns(const dpt_unfold *u, int kj, int *lo, int *hi) {
    int first = u->pad - kj, last = u->w - 1 + u->pad - kj; /* bounds on gx*stride */
    *lo = first > 0 ? (first + u->stride - 1) / u->stride : 0;
    *hi = last < 0 ? 0 : last / u->stride + 1;
    if (*hi > u->gw) *hi = u->gw;
    if (*lo > *hi) *lo = *hi;
}

/* dpt_im2col for stride 1 and a grid the image's size (2*pad = k-1, "same" convolutions): each
   row of the column matrix is the image plane shifted by (ki - pad, kj - pad): one contiguous
   copy, zeros where the shift leaves the image, then zeros over the columns it wrapped. */
static void im2col_same(const dpt_unfold *u, const float *img, float *col) {
    const int w = u->w, n = u->h * u->w;
    for (int c = 0; c < u->c; c++)
        for (int ki = 0; ki < u->k; ki++)
            for (int kj = 0; kj < u->k; kj++) {
                float *row = col + (size_t)((c * u->k + ki) * u->k + kj) * n;
                const float *plane = img + (size_t)c * n;
                const int dy = ki - u->pad, dx = kj - u->pad, shift = dy * w + dx;
                /* row[i] = plane[i + shift] for i in [lo, hi): the rows the shift keeps inside,
                   less what would be read from outside the plane (wrapped columns anyway). */
                int lo = dy < 0 ? -dy * w : 0, hi = dy > 0 ? n - dy * w : n;
                if (lo < -shift) lo = -shift;
                if (lo > n) lo = n;
                if (hi > n - shift) hi = n - shift;
                if (hi < lo) hi = lo;
                memset(row, 0, sizeof(float) * (size_t)lo);
                if (hi > lo)
                    memcpy(row + lo, plane + lo + shift, sizeof(float) * (size_t)(hi - lo));
                memset(row + hi, 0, sizeof(float) * (size_t)(n - hi));
                const int x0 = dx < 0 ? 0 : w - dx > 0 ? w - dx : 0;
                const int x1 = dx < 0 ? (-dx < w ? -dx : w) : w;
                for (int gy = 0; gy < u->gh && dx != 0; gy++)
                    for (int gx = x0; gx < x1; gx++) row[(size_t)gy * w + gx] = 0;
            }
}

void dpt_im2col(const dpt_unfold *u, const float *img, float *col) {
    if (u->stride == 1 && u->gh == u->h && u->gw == u->w) {
        im2col_same(u, img, col);
        return;
    }
    for (int c = 0; c < u->c; c++)
        for (int ki = 0; ki < u->k; ki++)
            for (int kj = 0; kj < u->k; kj++) {
                float *row = col + (size_t)((c * u->k + ki) * u->k + kj) * u->cols;
                int lo, hi;
                dpt_unfold_valid_columns(u, kj, &lo, &hi);
                const int x0 = lo * u->stride - u->pad + kj;
                const float *plane = img + (size_t)c * u->h * u->w;
                for (int gy = 0; gy < u->gh; gy++) {
                    const int y = gy * u->stride - u->pad + ki;
                    float *dst = row + (size_t)gy * u->gw;
                    if (y < 0 || y >= u->h || lo == hi) {
                        for (int gx = 0; gx < u->gw; gx++) dst[gx] = 0;
                        continue;
                    }
                    const float *src = plane + (size_t)y * u->w + x0;
                    for (int gx = 0; gx < lo; gx++) dst[gx] = 0;
                    /* Rows are short (7 to 28 pixels here): a loop beats memcpy's call. */
                    if (u->stride == 1)
                        for (int gx = lo; gx < hi; gx++) dst[gx] = src[gx - lo];
                    else
                        for (int gx = lo; gx < hi; gx++) dst[gx] = src[(gx - lo) * u->stride];
                    for (int gx = hi; gx < u->gw; gx++) dst[gx] = 0;
                }
            }
}

void dpt_col2im(const dpt_unfold *u, const float *col, float *img) {
    for (int c = 0; c < u->c; c++)
        for (int ki = 0; ki < u->k; ki++)
            for (int kj = 0; kj < u->k; kj++) {
                const float *row = col + (size_t)((c * u->k + ki) * u->k + kj) * u->cols;
                int lo, hi;
                dpt_unfold_valid_columns(u, kj, &lo, &hi);
                if (lo == hi) continue;
                const int x0 = lo * u->stride - u->pad + kj;
                float *plane = img + (size_t)c * u->h * u->w;
                for (int gy = 0; gy < u->gh; gy++) {
                    const int y = gy * u->stride - u->pad + ki;
                    if (y < 0 || y >= u->h) continue;
                    const float *src = row + (size_t)gy * u->gw;
                    float *dst = plane + (size_t)y * u->w + x0;
                    if (u->stride == 1) /* (a loop the compiler vectorizes) */
                        for (int gx = lo; gx < hi; gx++) dst[gx - lo] += src[gx];
                    else
                        for (int gx = lo; gx < hi; gx++) dst[(gx - lo) * u->stride] += src[gx];
                }
            }
}
