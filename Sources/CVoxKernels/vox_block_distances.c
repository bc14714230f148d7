// Squared distances from one query to keys stored transposed in blocks of 8, with AVX2 where the CPU has it.
//
// Swift compiles SIMD8<Float> for the x86-64 baseline (two SSE halves per operation); the voice converter's frame
// search scores every one of a voice model's 12 000 keys per frame (in 10 dimensions a k-nearest search prunes
// little), and that scan was 16-18 % of a conversion's CPU time.
#include "vox_kernels.h"

// Portable path: the same sums in the same order (coordinate by coordinate, product then sum).
void vox_block_distances_portable(const float *keys, ptrdiff_t blocks, ptrdiff_t d, const float *query, float *out,
                                  float *block_min) {
    for (ptrdiff_t b = 0; b < blocks; b++) {
        float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        const float *k = keys + b * d * 8;
        for (ptrdiff_t m = 0; m < d; m++) {
            for (int l = 0; l < 8; l++) {
                float e = k[m * 8 + l] - query[m];
                float p = e * e;
                acc[l] = acc[l] + p;
            }
        }
        float smallest = acc[0];
        for (int l = 0; l < 8; l++) {
            out[b * 8 + l] = acc[l];
            if (acc[l] < smallest) smallest = acc[l];
        }
        block_min[b] = smallest;
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

// AVX2 without FMA on purpose: a fused multiply-add rounds once, and the distances must equal the plain ones
// (the caller's bound from hinted keys is computed by plain code).
__attribute__((target("avx2"))) static void distances_avx2(const float *keys, ptrdiff_t blocks, ptrdiff_t d,
                                                           const float *query, float *out, float *block_min) {
    for (ptrdiff_t b = 0; b < blocks; b++) {
        __m256 acc = _mm256_setzero_ps();
        const float *k = keys + b * d * 8;
        for (ptrdiff_t m = 0; m < d; m++) {
            __m256 e = _mm256_sub_ps(_mm256_loadu_ps(k + m * 8), _mm256_set1_ps(query[m]));
            acc = _mm256_add_ps(acc, _mm256_mul_ps(e, e));
        }
        _mm256_storeu_ps(out + b * 8, acc);
        __m128 h = _mm_min_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
        h = _mm_min_ps(h, _mm_movehl_ps(h, h));
        h = _mm_min_ss(h, _mm_shuffle_ps(h, h, 1));
        block_min[b] = _mm_cvtss_f32(h);
    }
}

void vox_block_distances(const float *keys, ptrdiff_t blocks, ptrdiff_t d, const float *query, float *out,
                         float *block_min) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) distances_avx2(keys, blocks, d, query, out, block_min);
    else vox_block_distances_portable(keys, blocks, d, query, out, block_min);
}
#else
void vox_block_distances(const float *keys, ptrdiff_t blocks, ptrdiff_t d, const float *query, float *out,
                         float *block_min) {
    vox_block_distances_portable(keys, blocks, d, query, out, block_min);
}
#endif
