/*
 * Int8 dot-product kernels for Q8_0 / Q4_0 weights times Q8-quantized activations (x86-64, AVX2), called from
 * dev.loracle.runtime.tensor.NativeKernels through the FFM API. The pure-Java kernels in MatVec are the fallback and
 * the reference: both compute, per output element,
 *     acc = 0; for each block b in order: acc = fmaf((float) exactIntegerBlockSum, f16(dW) * dX[b], acc)
 * so results are bit-identical to Java's whatever the vector width, the row tiling or the number of tokens.
 * The integer block sums are exact: |w| <= 128, |x| <= 127, so pairs fit vpmaddubsw's int16 without saturation.
 */
#include <immintrin.h>
#include <stdint.h>

#define KERNELS_ABI 1
#define TARGET __attribute__((target("avx2,fma,f16c")))

/* 1 when this CPU can run the kernels (checked at load time, compiled without AVX2 itself). */
int32_t loracle_kernels_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c") ? KERNELS_ABI : 0;
}

TARGET static inline __m256i block_dot(__m256i w, __m256i x) {
    const __m256i ax = _mm256_sign_epi8(w, w);          /* |w| as unsigned bytes */
    const __m256i sx = _mm256_sign_epi8(x, w);          /* x with w's sign (0 where w == 0) */
    return _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sx), _mm256_set1_epi16(1));
}

TARGET static inline __m256i load_q8_0(const uint8_t *blk) {
    return _mm256_loadu_si256((const __m256i *) (blk + 2));
}

TARGET static inline __m256i load_q4_0(const uint8_t *blk) {
    const __m128i q = _mm_loadu_si128((const __m128i *) (blk + 2));
    const __m128i m = _mm_set1_epi8(0x0F);
    const __m128i lo = _mm_and_si128(q, m), hi = _mm_and_si128(_mm_srli_epi16(q, 4), m);  /* elements 0..15, 16..31 */
    return _mm256_sub_epi8(_mm256_set_m128i(hi, lo), _mm256_set1_epi8(8));
}

/* Sums of the 8 int lanes of four vectors, as 4 ints (exact: order does not matter for integers). */
TARGET static inline __m128i hsum4(__m256i a, __m256i b, __m256i c, __m256i d) {
    const __m256i s = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, d));
    return _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
}

TARGET static inline int32_t hsum1(__m256i a) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

static inline uint16_t d16(const uint8_t *blk) { return (uint16_t) (blk[0] | (blk[1] << 8)); }

TARGET static inline float f16(uint16_t h) { return _cvtsh_ss(h); }

TARGET static inline __m256i load_block(const uint8_t *blk, int q4) { return q4 ? load_q4_0(blk) : load_q8_0(blk); }

/* One row times one token. */
TARGET static inline float row_dot(const uint8_t *row, const int8_t *xt, const float *dt, int nb, int q4) {
    const int bb = q4 ? 18 : 34;
    float acc = 0.0f;
    int b = 0;
    for (; b + 4 <= nb; b += 4) {
        const uint8_t *b0 = row + (int64_t) b * bb, *b1 = b0 + bb, *b2 = b1 + bb, *b3 = b2 + bb;
        const int8_t *x = xt + 32 * b;
        const __m128i s = hsum4(block_dot(load_block(b0, q4), _mm256_loadu_si256((const __m256i *) x)),
                                block_dot(load_block(b1, q4), _mm256_loadu_si256((const __m256i *) (x + 32))),
                                block_dot(load_block(b2, q4), _mm256_loadu_si256((const __m256i *) (x + 64))),
                                block_dot(load_block(b3, q4), _mm256_loadu_si256((const __m256i *) (x + 96))));
        acc = __builtin_fmaf((float) _mm_cvtsi128_si32(s), f16(d16(b0)) * dt[b], acc);
        acc = __builtin_fmaf((float) _mm_extract_epi32(s, 1), f16(d16(b1)) * dt[b + 1], acc);
        acc = __builtin_fmaf((float) _mm_extract_epi32(s, 2), f16(d16(b2)) * dt[b + 2], acc);
        acc = __builtin_fmaf((float) _mm_extract_epi32(s, 3), f16(d16(b3)) * dt[b + 3], acc);
    }
    for (; b < nb; b++) {
        const uint8_t *blk = row + (int64_t) b * bb;
        const int32_t sum = hsum1(block_dot(load_block(blk, q4), _mm256_loadu_si256((const __m256i *) (xt + 32 * b))));
        acc = __builtin_fmaf((float) sum, f16(d16(blk)) * dt[b], acc);
    }
    return acc;
}

/* Rows [r0, r1) times tokens [0, n): four tokens per pass over a row, then one at a time. */
TARGET static void full_passes(const uint8_t *w, int64_t rowBytes, int r0, int r1, int cols, const int8_t *xq, const float *xd,
                               int n, float *y, int32_t yStride, int32_t yShift, int q4) {
    const int nb = cols / 32;
    const int bb = q4 ? 18 : 34;
    for (int r = r0; r < r1; r++) {
        const uint8_t *row = w + (int64_t) r * rowBytes;
        int t = 0;
        for (; t + 4 <= n; t += 4) {
            const int8_t *x0 = xq + (int64_t) t * cols, *x1 = x0 + cols, *x2 = x1 + cols, *x3 = x2 + cols;
            const float *d0 = xd + (int64_t) t * nb, *d1 = d0 + nb, *d2 = d1 + nb, *d3 = d2 + nb;
            __m128 acc = _mm_setzero_ps();
            for (int b = 0; b < nb; b++) {
                const uint8_t *blk = row + (int64_t) b * bb;
                const __m256i wv = load_block(blk, q4);
                const __m256i s0 = block_dot(wv, _mm256_loadu_si256((const __m256i *) (x0 + 32 * b)));
                const __m256i s1 = block_dot(wv, _mm256_loadu_si256((const __m256i *) (x1 + 32 * b)));
                const __m256i s2 = block_dot(wv, _mm256_loadu_si256((const __m256i *) (x2 + 32 * b)));
                const __m256i s3 = block_dot(wv, _mm256_loadu_si256((const __m256i *) (x3 + 32 * b)));
                const __m128 sums = _mm_cvtepi32_ps(hsum4(s0, s1, s2, s3));
                const __m128 d = _mm_mul_ps(_mm_set1_ps(f16(d16(blk))), _mm_setr_ps(d0[b], d1[b], d2[b], d3[b]));
                acc = _mm_fmadd_ps(sums, d, acc);  /* lane k: fmaf(sum_k, dW * dX_k, acc_k) */
            }
            float out[4];
            _mm_storeu_ps(out, acc);
            for (int k = 0; k < 4; k++) y[(int64_t) (t + k) * yStride + r + yShift] = out[k];
        }
        for (; t < n; t++) y[(int64_t) t * yStride + r + yShift] = row_dot(row, xq + (int64_t) t * cols, xd + (int64_t) t * nb, nb, q4);
    }
}

/*
 * y[t * yStride + r + yShift] = row r of w (rows r0..r1) . token t of the activation (t < n), for ggml type 8 (Q8_0)
 * or 2 (Q4_0). xq holds n * cols int8 values, xd n * cols / 32 block scales.
 * One row at a time (a single sequential stream from memory: on the machines measured, interleaving rows cut the
 * read rate by 3x), four tokens per pass over the row (the row stays in L1; each block is decoded once per pass).
 */
TARGET void loracle_int8_rows(int32_t type, const uint8_t *w, int64_t rowBytes, int32_t r0, int32_t r1, int32_t cols,
                              const int8_t *xq, const float *xd, int32_t n, float *y, int32_t yStride, int32_t yShift) {
    full_passes(w, rowBytes, r0, r1, cols, xq, xd, n, y, yStride, yShift, type == 2);
}
