package dev.loracle.runtime.tensor;

/**
 * An activation vector quantized to Q8_K super-blocks, as llama.cpp does before multiplying K-quant (Q4_K, Q5_K,
 * Q6_K) weights: per 256 values one F32 scale d = max / -127 (max: the value of largest magnitude), int8 values
 * round-half-even(x * -127 / max) capped at 127, and the integer sum of each 16 values (the K-quant kernels need
 * them for the sub-block minimums and the Q6_K offset).
 */
public final class Q8KActivation {
    static final int QK_K = 256;
    final byte[] q;
    final float[] d;
    /** Sum of each 16 consecutive q (16 per super-block); int so the native kernel reads them as int32. */
    final int[] bsums;
    private int length;
    /** q in KQuantDot's lane order, made on first use by the Java kernel (the native one reads q as is). */
    private byte[] lanePermuted;

    public Q8KActivation(int capacity) {
        int blocks = (capacity + QK_K - 1) / QK_K;
        this.q = new byte[blocks * QK_K];
        this.d = new float[blocks];
        this.bsums = new int[blocks * 16];
    }

    public int length() { return length; }

    /** q with each 32-value chunk in lane order ({@link KQuantDot#lanePosition}); computed once, after quantize. */
    synchronized byte[] lanePermuted() {
        if (lanePermuted == null) {
            byte[] p = new byte[q.length];
            for (int e = 0; e < length; e++) p[KQuantDot.lanePosition(e)] = q[e];
            lanePermuted = p;
        }
        return lanePermuted;
    }

    /** Quantizes {@code x[0..n)}; n must be a multiple of 256. Returns this. */
    public Q8KActivation quantize(float[] x, int n) {
        checkLength(n);
        quantizeBlocks(x, 0, n / QK_K);
        this.length = n;
        this.lanePermuted = null;
        return this;
    }

    /** As {@link #quantize(float[], int)}, the super-blocks spread over the pool's threads (each is independent). */
    public Q8KActivation quantize(ParallelRunner pool, float[] x, int n) {
        checkLength(n);
        pool.forRange(n / QK_K, 32, (b0, b1) -> quantizeBlocks(x, b0, b1));
        this.length = n;
        this.lanePermuted = null;
        return this;
    }

    private void checkLength(int n) {
        if (n % QK_K != 0) throw new IllegalArgumentException("Q8_K activation length must be a multiple of 256, got " + n);
        if (n > q.length) throw new IllegalArgumentException("Q8_K activation capacity " + q.length + " < " + n);
    }

    private void quantizeBlocks(float[] x, int b0, int b1) {
        for (int b = b0; b < b1; b++) {
            int base = b * QK_K;
            float amax = 0f, max = 0f;
            for (int j = 0; j < QK_K; j++) {
                float a = Math.abs(x[base + j]);
                if (a > amax) {
                    amax = a;
                    max = x[base + j];
                }
            }
            if (amax == 0f) {
                d[b] = 0f;
                java.util.Arrays.fill(q, base, base + QK_K, (byte) 0);
                java.util.Arrays.fill(bsums, 16 * b, 16 * b + 16, 0);
                continue;
            }
            float iscale = -127f / max;
            for (int j = 0; j < QK_K; j++) q[base + j] = (byte) Math.min(127, (int) Math.rint(iscale * x[base + j]));
            for (int g = 0; g < 16; g++) {
                int s = 0;
                for (int j = 0; j < 16; j++) s += q[base + 16 * g + j];
                bsums[16 * b + g] = s;
            }
            d[b] = 1f / iscale;
        }
    }
}
