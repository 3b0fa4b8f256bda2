/*
 * Int8 dot-product kernels for Q8_0 / Q4_0 weights times Q8-quantized activations (x86-64, AVX2, and AVX-VNNI where
 * the CPU has it), called from dev.loracle.runtime.tensor.NativeKernels through the FFM API. The pure-Java kernels in
 * MatVec are the fallback and the reference: both compute, per output element,
 *     acc = 0; for each block b in order: acc = fmaf((float) exactIntegerBlockSum, f16(dW) * dX[b], acc)
 * so results are bit-identical to Java's whatever the instruction set, the row tiling or the number of tokens.
 * The integer block sums are exact: Q8_0 uses |w| (<= 128) times x with w's sign (|x| <= 127), Q4_0 the unsigned
 * nibble (0..15) times x minus 8 * sum(x); no int16 pair sum can saturate.
 * K-quant weights (Q4_K, Q5_K, Q6_K) times Q8_K activations: kquant_rows.inc, same idea (see KQuantDot).
 */
#include <immintrin.h>
#include <stdint.h>

#define KERNELS_ABI 2

static int use_vnni;

/* 1 when this CPU can run the kernels (called once at load time; compiled without AVX2 itself). */
int32_t loracle_kernels_supported(void) {
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))) return 0;
    use_vnni = __builtin_cpu_supports("avxvnni") != 0;
    return KERNELS_ABI;
}

/* 1 when the AVX-VNNI variant runs (same results as the AVX2 one). */
int32_t loracle_kernels_vnni(void) { return use_vnni; }

/* Tests run both variants: 0 selects AVX2, 1 VNNI where the CPU has it. Returns the variant now in use. */
int32_t loracle_kernels_select_vnni(int32_t on) {
    use_vnni = on && __builtin_cpu_supports("avxvnni");
    return use_vnni;
}

/* The kernels, compiled twice: unsigned x signed byte dot products with AVX2 (vpmaddubsw + vpmaddwd) or VNNI (vpdpbusd). */
#define SUFFIX avx2
#define TARGET __attribute__((target("avx2,fma,f16c")))
#define UDOT(u, s) _mm256_madd_epi16(_mm256_maddubs_epi16((u), (s)), _mm256_set1_epi16(1))
#include "int8_rows.inc"
#undef SUFFIX
#undef TARGET
#undef UDOT

#define SUFFIX vnni
#define TARGET __attribute__((target("avx2,fma,f16c,avxvnni")))
#define UDOT(u, s) _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), (u), (s))
#include "int8_rows.inc"

/*
 * y[t * yStride + r + yShift] = row r of w (rows r0..r1) . token t of the activation (t < n), for ggml type 8 (Q8_0)
 * or 2 (Q4_0). xq holds n * cols int8 values, xd n * cols / 32 block scales, xs the blocks' integer sums.
 */
void loracle_int8_rows(int32_t type, const uint8_t *w, int64_t rowBytes, int32_t r0, int32_t r1, int32_t cols,
                       const int8_t *xq, const float *xd, const int32_t *xs, int32_t n, float *y, int32_t yStride, int32_t yShift) {
    if (use_vnni) rows_vnni(w, rowBytes, r0, r1, cols, xq, xd, xs, n, y, yStride, yShift, type == 2);
    else rows_avx2(w, rowBytes, r0, r1, cols, xq, xd, xs, n, y, yStride, yShift, type == 2);
}

#define KQ_TARGET __attribute__((target("avx2,fma,f16c")))
#include "kquant_rows.inc"

/*
 * y[t * yStride + r + yShift] = row r of w (rows r0..r1) . token t of the Q8_K activation (t < n), for ggml type 12
 * (Q4_K), 13 (Q5_K) or 14 (Q6_K). xq holds n * cols int8 values, xd n * cols / 256 scales, bs n * cols / 16 sums.
 */
void loracle_kquant_rows(int32_t type, const uint8_t *w, int64_t rowBytes, int32_t r0, int32_t r1, int32_t cols,
                         const int8_t *xq, const float *xd, const int32_t *bs, int32_t n, float *y, int32_t yStride, int32_t yShift) {
    kq_rows(type, w, rowBytes, r0, r1, cols, xq, xd, bs, n, y, yStride, yShift);
}
