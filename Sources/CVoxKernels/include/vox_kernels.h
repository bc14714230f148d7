// Small native kernels that Swift cannot express: code for CPU features chosen at run time (the U-Net's matrix
// products for VoxSeparation, the frame search's distances for VoxVoice).
#ifndef VOX_KERNELS_H
#define VOX_KERNELS_H

#include <stddef.h>

/// Width of the column panels of a packed right-hand matrix (see vox_gemm_packed).
#define VOX_GEMM_PANEL 32

/// Non-zero when vox_gemm_packed can run on this CPU (AVX-512F, enabled by the OS).
int vox_gemm_available(void);

/// C = A·B (+ C when accumulate is non-zero), single precision, row-major: A is m×k (row stride lda), C is m×n
/// (row stride ldc). B (k×n, n a multiple of 16) is packed in column panels of VOX_GEMM_PANEL columns (the last one
/// may have 16): panel j (first column j) holds B[p][j..<j+w] for p = 0..<k contiguously, at packed + j·k.
/// Only call when vox_gemm_available() is non-zero.
void vox_gemm_packed(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *packed,
                     float *c, ptrdiff_t ldc, int accumulate);

/// The U-Net's 5×5 stride-2 convolution as an implicit product, without a patch matrix: out (oh × ow × n, holding the
/// bias) += patches · B. The patch of output pixel (y, x) is rows 2y…2y+4, columns 2x…2x+4 of x, an input that is
/// already zero-padded (row width wp pixels of `channels` floats; TF "same" padding: 1 pixel before, 2 after).
/// B (the kernel [5, 5, channels, n] as a 25·channels × n matrix) is packed as for vox_gemm_packed. Sums in the same
/// order as vox_gemm_packed over an explicit patch matrix. Only call when vox_gemm_available() is non-zero.
void vox_conv5x5s2_packed(ptrdiff_t oh, ptrdiff_t ow, ptrdiff_t n, ptrdiff_t channels, const float *x, ptrdiff_t wp,
                          const float *packed, float *out);

/// Squared Euclidean distances from `query` (d floats) to keys stored transposed in blocks of 8 (block b,
/// coordinate m, lane l at keys[(b·d + m)·8 + l]): out[b·8 + l], and each block's smallest in block_min[b]. Summed
/// coordinate by coordinate as products then sums (no fused multiply-add), so the values equal plain scalar code's.
/// AVX2 where the CPU has it (checked at each call: a cached flag read), plain C elsewhere.
void vox_block_distances(const float *keys, ptrdiff_t blocks, ptrdiff_t d, const float *query, float *out,
                         float *block_min);

/// vox_block_distances in plain C on every CPU (what it runs without AVX2; tests compare the two bit for bit).
void vox_block_distances_portable(const float *keys, ptrdiff_t blocks, ptrdiff_t d, const float *query, float *out,
                                  float *block_min);

#endif
