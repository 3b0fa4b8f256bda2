package dev.loracle.runtime.tensor;

/**
 * llama.cpp's vectorized single-precision exp (ggml_v_expf, adapted there from Arm's optimized routines: a range
 * reduction by ln 2 and a degree-5 polynomial, max error about 1.5 ulp), written with scalar fma so that the F16 KV
 * attention's softmax rounds exactly as llama.cpp's AVX2 build does. Every step is an IEEE operation (fma, add, multiply, integer
 * bit arithmetic), so the result is the same on every machine and JIT tier.
 */
public final class GgmlExp {
    private GgmlExp() {}

    private static final int ONE_BITS = Float.floatToRawIntBits(1f);

    public static float expf(float x) {
        final float r = 0x1.8p23f;
        float z = Math.fma(x, 0x1.715476p+0f, r);
        float n = z - r;
        float b = Math.fma(-n, 0x1.7f7d1cp-20f, Math.fma(-n, 0x1.62e4p-1f, x));
        if (Math.abs(n) > 126) return (float) StrictMath.exp(x); // beyond 2^+-126 (llama.cpp scales in two steps there)
        float k = Float.intBitsToFloat((Float.floatToRawIntBits(z) << 23) + ONE_BITS);
        float u = b * b;
        float j = Math.fma(Math.fma(Math.fma(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u, Math.fma(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)), u,
                0x1.ffffecp-1f * b);
        return Math.fma(j, k, k);
    }

}
