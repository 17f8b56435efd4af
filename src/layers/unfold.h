/* The unfolding of an image into a column matrix that conv and convtranspose share: a k x k
   window, `stride` apart, `pad` rows and columns of zeros around the image, visits a grid of
   gh x gw positions; the column matrix has one row per channel and kernel tap (c, ki, kj) and
   one column per grid position (gy, gx), the image value at
     y = gy*stride - pad + ki, x = gx*stride - pad + kj
   (zero where that falls outside the image). Conv unfolds its input over its output pixels;
   convtranspose its output over its input pixels. Internal to the library. */
#ifndef DPTRAIN_SRC_LAYERS_UNFOLD_H
#define DPTRAIN_SRC_LAYERS_UNFOLD_H

typedef struct dpt_unfold {
    int c, h, w; /* the image */
    int k, stride, pad;
    int gh, gw; /* the grid */
    int rows;   /* of the column matrix: c*k*k */
    int cols;   /* of the column matrix: gh*gw */
} dpt_unfold;

dpt_unfold dpt_unfold_make(int c, int h, int w, int k, int stride, int pad, int gh, int gw);

/* The grid columns [*lo, *hi) whose x = gx*stride - pad + kj lies inside 0..w-1. */
void dpt_unfold_valid_columns(const dpt_unfold *u, int kj, int *lo, int *hi);

/* col[rows][cols] from img[c][h][w]. */
void dpt_im2col(const dpt_unfold *u, const float *img, float *col);

/* The adjoint of dpt_im2col: adds to each value of img[c][h][w] the column entries that read
   it, in the order of c, ki, kj, gy, gx. */
void dpt_col2im(const dpt_unfold *u, const float *col, float *img);

/* img = the dpt_col2im of col onto zeros (img need not be cleared first), the same values;
   col's entries that read outside the image may be overwritten with zeros. */
void dpt_col2im_onto_zeros(const dpt_unfold *u, float *col, float *img);

#endif
