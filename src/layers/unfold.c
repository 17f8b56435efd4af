/* im2col and col2im (unfold.h). */
#include "unfold.h"

#include "dptrain/hot_loop.h"

#include <stddef.h>

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

/* Stride 1 and a grid the image's size (2*pad = k-1, "same" convolutions): the row of tap
   (ki, kj) is the image plane shifted by (ki - pad, kj - pad), row[i] = plane[i + shift]. A
   shift leaves the image at the top or bottom (rows of zeros) and at the sides, where the
   flat index wraps to the neighbouring image row: those are the wrapped columns. */
static int is_same(const dpt_unfold *u) {
    return u->stride == 1 && u->gh == u->h && u->gw == u->w;
}

typedef struct shifted {
    int shift;  /* row[i] pairs with plane[i + shift] */
    int lo, hi; /* for i in [lo, hi): inside the image but for the wrapped columns */
    int x0, x1; /* the wrapped columns, [x0, x1) of each grid row */
} shifted;

static shifted shifted_tap(const dpt_unfold *u, int ki, int kj) {
    const int w = u->w, n = u->h * u->w, dy = ki - u->pad, dx = kj - u->pad;
    shifted t = {.shift = dy * w + dx, .lo = dy < 0 ? -dy * w : 0, .hi = dy > 0 ? n - dy * w : n};
    /* What would pair with a value outside the plane is a wrapped column anyway. */
    if (t.lo < -t.shift) t.lo = -t.shift;
    if (t.lo > n) t.lo = n;
    if (t.hi > n - t.shift) t.hi = n - t.shift;
    if (t.hi < t.lo) t.hi = t.lo;
    t.x0 = dx < 0 ? 0 : w - dx > 0 ? w - dx : 0;
    t.x1 = dx < 0 ? (-dx < w ? -dx : w) : dx > 0 ? w : 0;
    return t;
}

static void zero_wrapped_columns(const dpt_unfold *u, const shifted *t, float *row) {
    for (int gy = 0; gy < u->gh && t->x0 < t->x1; gy++)
        for (int gx = t->x0; gx < t->x1; gx++) row[(size_t)gy * u->w + gx] = 0;
}

/* dpt_im2col of a "same" geometry: per row, zeros, a contiguous copy, zeros. (Plain loops, kept
   loops by CMakeLists.txt: glibc's memset and memcpy calls cost more than these rows.) */
static HOT_LOOP void im2col_same(const dpt_unfold *u, const float *img, float *col) {
    const int n = u->h * u->w;
    for (int c = 0; c < u->c; c++)
        for (int ki = 0; ki < u->k; ki++)
            for (int kj = 0; kj < u->k; kj++) {
                float *row = col + (size_t)((c * u->k + ki) * u->k + kj) * n;
                const float *plane = img + (size_t)c * n;
                const shifted t = shifted_tap(u, ki, kj);
                for (int i = 0; i < t.lo; i++) row[i] = 0;
                for (int i = t.lo; i < t.hi; i++) row[i] = plane[i + t.shift];
                for (int i = t.hi; i < n; i++) row[i] = 0;
                zero_wrapped_columns(u, &t, row);
            }
}

void dpt_im2col(const dpt_unfold *u, const float *img, float *col) {
    if (is_same(u)) {
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

HOT_LOOP void dpt_col2im_onto_zeros(const dpt_unfold *u, float *col, float *img) {
    const int n = u->h * u->w;
    for (size_t i = 0; i < (size_t)u->c * n; i++) img[i] = 0;
    if (!is_same(u)) {
        dpt_col2im(u, col, img);
        return;
    }
    /* Each row's wrapped columns set to zero, then added with the rest in one contiguous loop:
       adding +0 leaves every sum as it was (a sum that starts at +0 is never -0), so each value
       is the same sum, in the same order, as dpt_col2im's. */
    for (int c = 0; c < u->c; c++)
        for (int ki = 0; ki < u->k; ki++)
            for (int kj = 0; kj < u->k; kj++) {
                float *row = col + (size_t)((c * u->k + ki) * u->k + kj) * n;
                float *dst = img + (size_t)c * n;
                const shifted t = shifted_tap(u, ki, kj);
                zero_wrapped_columns(u, &t, row);
                for (int i = t.lo; i < t.hi; i++) dst[i + t.shift] += row[i];
            }
}
