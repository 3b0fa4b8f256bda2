package dev.loracle.runtime.engine;

/**
 * Dot products in the order of llama.cpp's ggml_vec_dot_f16 (AVX2 build), which its F16 KV cache path uses for q.k and
 * for weighting the values: element i goes to lane i % 32 (four 8-wide accumulators, one fma each), the lanes are
 * reduced as (acc0 + acc2) + (acc1 + acc3), then the 8 lanes as ((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7)), the
 * leftover elements (past a multiple of 32) added in double. Matching its order, not just its precision, keeps the
 * activations that are later rounded to Q8_K identical, which is what brings the K-quant goldens within 1e-2.
 */
final class HalfDot {
    private HalfDot() {}

    static final int LANES = 32;

    /** q[qOff..qOff+n) (already F16-rounded values) . halves h[hOff..hOff+n); {@code acc}: LANES floats of scratch. */
    static float dot(float[] q, int qOff, short[] h, int hOff, int n, float[] acc) {
        java.util.Arrays.fill(acc, 0, LANES, 0f);
        int np = n & ~(LANES - 1);
        for (int i = 0; i < np; i++) acc[i % LANES] = Math.fma(q[qOff + i], Float.float16ToFloat(h[hOff + i]), acc[i % LANES]);
        double sum = reduce(acc, 0);
        for (int i = np; i < n; i++) sum += q[qOff + i] * Float.float16ToFloat(h[hOff + i]);
        return (float) sum;
    }

    /** The 32 lanes at {@code lanes[off..off+32)} reduced in ggml's order (GGML_F32x8_REDUCE). */
    static float reduce(float[] lanes, int off) {
        float[] s = new float[8];
        for (int l = 0; l < 8; l++) s[l] = (lanes[off + l] + lanes[off + 16 + l]) + (lanes[off + 8 + l] + lanes[off + 24 + l]);
        float t0 = s[0] + s[4], t1 = s[1] + s[5], t2 = s[2] + s[6], t3 = s[3] + s[7];
        return (t0 + t1) + (t2 + t3);
    }
}
