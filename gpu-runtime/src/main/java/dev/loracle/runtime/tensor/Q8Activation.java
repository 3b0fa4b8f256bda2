package dev.loracle.runtime.tensor;

/**
 * An activation vector quantized to Q8_0-style blocks (int8 + one scale per 32 values), done once per matmul
 * input so that Q8_0/Q4_0 weights can use integer dot products as llama.cpp does. The scale is rounded
 * through fp16 like llama.cpp's block_q8_0.d.
 */
public final class Q8Activation {
    final byte[] q;
    final float[] d;
    /** Integer sum of each block's q (the native Q4_0 kernel multiplies unsigned nibbles and subtracts 8 * sum). */
    final int[] sums;
    private int length;

    public Q8Activation(int capacity) {
        int blocks = (capacity + 31) / 32;
        this.q = new byte[blocks * 32];
        this.d = new float[blocks];
        this.sums = new int[blocks];
    }

    public int length() { return length; }

    /** Quantizes {@code x[0..n)}; n must be a multiple of 32. Returns this. */
    public Q8Activation quantize(float[] x, int n) {
        checkLength(n);
        quantizeBlocks(x, 0, n / 32);
        this.length = n;
        return this;
    }

    /** As {@link #quantize(float[], int)}, the blocks spread over the pool's threads (each block is independent). */
    public Q8Activation quantize(ParallelRunner pool, float[] x, int n) {
        checkLength(n);
        pool.forRange(n / 32, 256, (b0, b1) -> quantizeBlocks(x, b0, b1));
        this.length = n;
        return this;
    }

    private void checkLength(int n) {
        if (n % 32 != 0) throw new IllegalArgumentException("Q8 activation length must be a multiple of 32, got " + n);
        if (n > q.length) throw new IllegalArgumentException("Q8 activation capacity " + q.length + " < " + n);
    }

    private void quantizeBlocks(float[] x, int b0, int b1) {
        for (int b = b0; b < b1; b++) {
            int base = b * 32;
            float amax = 0f;
            for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[base + j]));
            float dd = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
            float id = amax != 0f ? 127f / amax : 0f;
            d[b] = dd;
            int sum = 0;
            for (int j = 0; j < 32; j++) {
                q[base + j] = (byte) Quantization.roundHalfAway(x[base + j] * id);
                sum += q[base + j];
            }
            sums[b] = sum;
        }
    }
}
