package dev.loracle.runtime.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The low-rank delta kernel gives the bits of the plain per-rank loops (t_j = A_j . x with 8 lanes summed in order,
 * scaled, then y += t_j * B^T_j for j ascending), for every shape: ranks that are and are not multiples of four, widths
 * with and without a scalar tail.
 */
class CpuDeviceAdapterTest {
    private static final int L = 8;

    @Test
    void applyMatchesThePlainLoopsBitForBit() {
        SplittableRandom rnd = new SplittableRandom(15);
        int[][] shapes = {{64, 64, 16}, {64, 32, 8}, {64, 172, 7}, {172, 64, 64}, {37, 45, 3}, {8, 8, 1}, {288, 768, 5}};
        for (int[] shape : shapes) {
            int in = shape[0], out = shape[1], rank = shape[2];
            float[] a = random(rnd, rank * in), bt = random(rnd, rank * out);
            CpuDeviceAdapter.Target t = new CpuDeviceAdapter.Target(rank, in, out, 0.37f, a, bt);
            for (int trial = 0; trial < 20; trial++) {
                float weight = (float) rnd.nextDouble(-2, 2);
                int xOff = rnd.nextInt(3) * in, yOff = rnd.nextInt(3) * out;
                float[] x = random(rnd, 3 * in), y = random(rnd, 3 * out), expected = y.clone();
                reference(t, weight, x, xOff, expected, yOff);
                CpuDeviceAdapter.apply(t, weight, x, xOff, y, yOff, new float[rank]);
                for (int i = 0; i < y.length; i++) {
                    int at = i;
                    assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(y[i]),
                            () -> "in " + in + " out " + out + " rank " + rank + " element " + at);
                }
            }
        }
    }

    private static float[] random(SplittableRandom rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rnd.nextDouble(-1, 1);
        return v;
    }

    /** The arithmetic as written out once per rank (the definition the kernel must keep). */
    private static void reference(CpuDeviceAdapter.Target t, float weight, float[] x, int xOff, float[] y, int yOff) {
        float c = weight * t.scale();
        int in = t.in(), out = t.out();
        float[] tv = new float[t.rank()];
        for (int j = 0; j < t.rank(); j++) {
            float[] lanes = new float[L];
            int i = 0;
            for (; i + L <= in; i += L) {
                for (int l = 0; l < L; l++) lanes[l] = Math.fma(t.a()[j * in + i + l], x[xOff + i + l], lanes[l]);
            }
            float s = 0f;
            for (int l = 0; l < L; l++) s += lanes[l];
            for (; i < in; i++) s += t.a()[j * in + i] * x[xOff + i];
            tv[j] = s * c;
        }
        int bound = out - out % L;
        for (int j = 0; j < t.rank(); j++) {
            for (int o = 0; o < bound; o++) y[yOff + o] = Math.fma(t.bt()[j * out + o], tv[j], y[yOff + o]);
            for (int o = bound; o < out; o++) y[yOff + o] += t.bt()[j * out + o] * tv[j];
        }
    }
}
