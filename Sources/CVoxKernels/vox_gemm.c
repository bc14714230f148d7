// Single-precision matrix product with AVX-512 for the U-Net's convolutions.
//
// OpenBLAS runs whatever kernel OPENBLAS_CORETYPE names; where that is an AVX2 one on an AVX-512 CPU the U-Net's
// products ran at ~115 GFLOP/s per core against ~200 with 512-bit registers. This is the classic blocked product:
// the right-hand matrix (the network's weights) is packed once into 32-column panels; a block of A rows (MC × KC,
// in L2) meets one panel slice (KC × 32, in L1) in an 8 × 32 register tile (16 accumulators).
#include "vox_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define MR 8
#define KC 256
#define MC 96

int vox_gemm_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

// One R × (16·V) tile of C over kc steps; row r of A starts at a[r]. R and V are constants at every call site, so
// the loops unroll and the accumulators stay in registers.
__attribute__((target("avx512f"), always_inline)) static inline void
tile(const int R, const int V, ptrdiff_t kc, const float *const *a, const float *b, ptrdiff_t ldb,
     float *c, ptrdiff_t ldc, int load) {
    __m512 acc[MR][2];
#pragma clang loop unroll(full)
    for (int r = 0; r < R; r++)
#pragma clang loop unroll(full)
        for (int v = 0; v < V; v++) acc[r][v] = load ? _mm512_loadu_ps(c + r * ldc + 16 * v) : _mm512_setzero_ps();
    for (ptrdiff_t p = 0; p < kc; p++) {
        __m512 b0 = _mm512_loadu_ps(b + p * ldb), b1 = V > 1 ? _mm512_loadu_ps(b + p * ldb + 16) : b0;
#pragma clang loop unroll(full)
        for (int r = 0; r < R; r++) {
            __m512 x = _mm512_set1_ps(a[r][p]);
            acc[r][0] = _mm512_fmadd_ps(x, b0, acc[r][0]);
            if (V > 1) acc[r][1] = _mm512_fmadd_ps(x, b1, acc[r][1]);
        }
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < R; r++)
#pragma clang loop unroll(full)
        for (int v = 0; v < V; v++) _mm512_storeu_ps(c + r * ldc + 16 * v, acc[r][v]);
}

#define TILE_CASES(V)                                                                              \
    switch (rows) {                                                                                \
    case 8: tile(8, V, kc, a, b, ldb, c, ldc, load); break;                                   \
    case 7: tile(7, V, kc, a, b, ldb, c, ldc, load); break;                                   \
    case 6: tile(6, V, kc, a, b, ldb, c, ldc, load); break;                                   \
    case 5: tile(5, V, kc, a, b, ldb, c, ldc, load); break;                                   \
    case 4: tile(4, V, kc, a, b, ldb, c, ldc, load); break;                                   \
    case 3: tile(3, V, kc, a, b, ldb, c, ldc, load); break;                                   \
    case 2: tile(2, V, kc, a, b, ldb, c, ldc, load); break;                                   \
    default: tile(1, V, kc, a, b, ldb, c, ldc, load); break;                                  \
    }

__attribute__((target("avx512f"))) static void
tile_any(int rows, int width, ptrdiff_t kc, const float *const *a, const float *b, ptrdiff_t ldb,
         float *c, ptrdiff_t ldc, int load) {
    if (width == 32) { TILE_CASES(2) } else { TILE_CASES(1) }
}

// Where the rows of A are: a plain matrix (row i at base + i·lda), or the patches of the U-Net's 5×5 stride-2
// convolution (row i = output pixel (i / ow, i % ow); depth (kh, kw, channel) read in place from the padded input).
typedef struct {
    const float *base;
    ptrdiff_t lda, ow, wp, channels;
    int patches;
} source_t;

// Row i of A from depth p0 on. For patches, a depth block never crosses a kernel row (kh): its 5·channels values
// are contiguous in the input.
static inline const float *row_at(const source_t *a, ptrdiff_t i, ptrdiff_t p0) {
    if (!a->patches) return a->base + i * a->lda + p0;
    ptrdiff_t segment = 5 * a->channels, kh = p0 / segment, y = i / a->ow, x = i % a->ow;
    return a->base + ((2 * y + kh) * a->wp + 2 * x) * a->channels + (p0 - kh * segment);
}

// C (m × n, row stride ldc) (+)= A · packed B (k × n); depth blocks end at multiples of `segment` (k for a plain A).
__attribute__((target("avx512f"))) static void
product(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, ptrdiff_t segment, const source_t *a, const float *packed, float *c,
        ptrdiff_t ldc, int accumulate) {
    for (ptrdiff_t i0 = 0; i0 < m; i0 += MC) {
        ptrdiff_t mc = m - i0 < MC ? m - i0 : MC;
        for (ptrdiff_t p0 = 0, kc; p0 < k; p0 += kc) {
            ptrdiff_t left = segment - p0 % segment;
            kc = left < KC ? left : KC;
            int load = accumulate || p0 > 0;
            for (ptrdiff_t j = 0; j < n; j += VOX_GEMM_PANEL) {
                int width = n - j < VOX_GEMM_PANEL ? (int)(n - j) : VOX_GEMM_PANEL;
                const float *b = packed + j * k + p0 * width;
                for (ptrdiff_t i = i0; i < i0 + mc; i += MR) {
                    int rows = i0 + mc - i < MR ? (int)(i0 + mc - i) : MR;
                    const float *rowp[MR];
                    for (int r = 0; r < rows; r++) rowp[r] = row_at(a, i + r, p0);
                    tile_any(rows, width, kc, rowp, b, width, c + i * ldc + j, ldc, load);
                }
            }
        }
    }
}

void vox_gemm_packed(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *packed,
                     float *c, ptrdiff_t ldc, int accumulate) {
    source_t source = {a, lda, 0, 0, 0, 0};
    product(m, n, k, k, &source, packed, c, ldc, accumulate);
}

void vox_conv5x5s2_packed(ptrdiff_t oh, ptrdiff_t ow, ptrdiff_t n, ptrdiff_t channels, const float *x, ptrdiff_t wp,
                          const float *packed, float *out) {
    source_t source = {x, 0, ow, wp, channels, 1};
    product(oh * ow, n, 25 * channels, 5 * channels, &source, packed, out, n, 1);
}

#else
int vox_gemm_available(void) { return 0; }
void vox_gemm_packed(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *packed,
                     float *c, ptrdiff_t ldc, int accumulate) {
    (void)m; (void)n; (void)k; (void)a; (void)lda; (void)packed; (void)c; (void)ldc; (void)accumulate;
}
void vox_conv5x5s2_packed(ptrdiff_t oh, ptrdiff_t ow, ptrdiff_t n, ptrdiff_t channels, const float *x, ptrdiff_t wp,
                          const float *packed, float *out) {
    (void)oh; (void)ow; (void)n; (void)channels; (void)x; (void)wp; (void)packed; (void)out;
}
#endif
