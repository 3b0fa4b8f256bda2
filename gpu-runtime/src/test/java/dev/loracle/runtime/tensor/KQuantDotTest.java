package dev.loracle.runtime.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * K-quant weights times Q8_K activations: the Java kernel against a double-precision reference on the dequantized
 * values, the native kernel against the Java one bit for bit, and batch/tiling invariance of the batched matmul.
 */
class KQuantDotTest {

    /** Random K-quant blocks: random quant and scale bytes, sane fp16 super-block scales. */
    static QuantizedTensor randomKQuant(GgmlType type, int rows, int cols, long seed, Arena arena) {
        SplittableRandom r = new SplittableRandom(seed);
        long rowBytes = type.bytesFor(cols);
        MemorySegment seg = arena.allocate(rowBytes * rows, 64);
        for (long i = 0; i < seg.byteSize(); i++) seg.set(ValueLayout.JAVA_BYTE, i, (byte) r.nextInt(256));
        int bb = type.blockBytes();
        for (long b = 0; b < rows * rowBytes / bb; b++) {
            long o = b * bb;
            if (type == GgmlType.Q6_K) {
                seg.set(ValueLayout.JAVA_SHORT_UNALIGNED, o + 208, Float.floatToFloat16((float) (r.nextDouble() * 0.01)));
            } else {
                seg.set(ValueLayout.JAVA_SHORT_UNALIGNED, o, Float.floatToFloat16((float) (r.nextDouble() * 0.01)));
                seg.set(ValueLayout.JAVA_SHORT_UNALIGNED, o + 2, Float.floatToFloat16((float) (r.nextDouble() * 0.02)));
            }
        }
        return new QuantizedTensor("w", type, rows, cols, seg);
    }

    static float[] gaussian(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * (i % 97 == 0 ? 30 : 1)); // some outliers
        return x;
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_K", "Q5_K", "Q6_K"})
    void javaKernelEqualsTheDequantizedProduct(GgmlType type) {
        int rows = 7, cols = 768;
        try (Arena arena = Arena.ofShared()) {
            QuantizedTensor w = randomKQuant(type, rows, cols, 3, arena);
            float[] x = gaussian(cols, 4);
            Q8KActivation xq = new Q8KActivation(cols).quantize(x, cols);
            float[] y = new float[rows], wr = new float[cols];
            KQuantDot.rows(w, 0, rows, xq, 1, y, rows, 0);
            for (int r = 0; r < rows; r++) {
                w.dequantizeRow(r, wr, 0);
                double ref = 0, mag = 0;
                for (int i = 0; i < cols; i++) {
                    double xi = (double) xq.d[i / 256] * xq.q[i];
                    ref += wr[i] * xi;
                    mag += Math.abs(wr[i] * xi);
                }
                assertEquals(ref, y[r], 1e-5 * mag, type + " row " + r);
            }
        }
    }

    @org.junit.jupiter.api.Test
    void q8kQuantizationFollowsLlamaCpp() {
        float[] x = gaussian(512, 9);
        x[300] = -500f; // the value of largest magnitude maps to -127: d = max / -127
        x[10] = 400f;
        Q8KActivation q = new Q8KActivation(512).quantize(x, 512);
        assertEquals(-127, q.q[300]);
        assertEquals(-127, q.q[10]);
        assertEquals(500f / 127f, q.d[1], 1e-6f);
        assertEquals(-400f / 127f, q.d[0], 1e-6f);
        int s = 0;
        for (int j = 256 + 32; j < 256 + 48; j++) s += q.q[j];
        assertEquals(s, q.bsums[16 + 2]);
        for (int j = 0; j < 512; j++) assertEquals(Math.rint(x[j] * (j < 256 ? -127f / 400f : -127f / -500f)), q.q[j], 1.0001, "value " + j);
    }

    @ParameterizedTest(name = "{0} n={1} {2}x{3}")
    @CsvSource({"Q4_K,1,37,256", "Q4_K,5,9,1024", "Q4_K,35,4,512", "Q5_K,1,37,768", "Q5_K,6,11,512", "Q5_K,21,3,256", "Q6_K,1,37,768", "Q6_K,7,5,2048"})
    void nativeEqualsJavaBitForBit(GgmlType type, int n, int rows, int cols) {
        assumeTrue(NativeKernels.available(), "native kernels not built here");
        try (Arena arena = Arena.ofShared()) {
            QuantizedTensor w = randomKQuant(type, rows, cols, 11, arena);
            Q8KActivation xq = new Q8KActivation(n * cols).quantize(gaussian(n * cols, 12), n * cols);
            float[] java = new float[n * rows], nat = new float[n * rows];
            KQuantDot.rows(w, 0, rows, xq, n, java, rows, 0);
            NativeKernels.kQuant(w, 0, rows, xq, n, nat, rows, 0);
            for (int i = 0; i < java.length; i++) {
                assertEquals(Float.floatToRawIntBits(java[i]), Float.floatToRawIntBits(nat[i]), "token " + i / rows + " row " + i % rows);
            }
            assertThrows(IndexOutOfBoundsException.class, () -> NativeKernels.kQuant(w, 0, rows + 1, xq, n, new float[n * (rows + 1)], rows + 1, 0));
            assertThrows(IllegalArgumentException.class, () -> NativeKernels.kQuant(w, 0, rows, xq, n + 1, new float[(n + 1) * rows], rows, 0));
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_K", "Q5_K", "Q6_K"})
    void batchedMatmulIsBatchAndThreadInvariant(GgmlType type) {
        int rows = 45, cols = 512, n = 9;
        try (Arena arena = Arena.ofShared(); ParallelRunner one = new ParallelRunner(1); ParallelRunner three = new ParallelRunner(3)) {
            QuantizedTensor w = randomKQuant(type, rows, cols, 21, arena);
            float[] x = gaussian(n * cols, 22);
            float[] all = new float[n * rows];
            MatMul.matmul(three, w, x, n, all, MatVec.DotMode.INT8);
            for (int t = 0; t < n; t++) {
                float[] alone = new float[rows];
                MatMul.matmul(one, w, java.util.Arrays.copyOfRange(x, t * cols, (t + 1) * cols), 1, alone, MatVec.DotMode.INT8);
                for (int r = 0; r < rows; r++) {
                    assertEquals(Float.floatToRawIntBits(alone[r]), Float.floatToRawIntBits(all[t * rows + r]), "token " + t + " row " + r);
                }
            }
        }
    }

    @org.junit.jupiter.api.Test
    void q4kEncoderRoundTripsWithinHalfAStep() {
        float[] x = gaussian(512, 31);
        MemorySegment seg = Arena.ofAuto().allocate(GgmlType.Q4_K.bytesFor(512));
        Quantization.quantize(GgmlType.Q4_K, x, 0, 512, seg, 0);
        float[] back = new float[512];
        Quantization.dequantize(GgmlType.Q4_K, seg, 0, back, 0, 512);
        for (int j = 0; j < 16; j++) { // per 32-value sub-block: within about one step (range / 15) of the input
            float lo = 0, hi = 0;
            for (int l = 0; l < 32; l++) {
                lo = Math.min(lo, x[32 * j + l]);
                hi = Math.max(hi, x[32 * j + l]);
            }
            for (int l = 0; l < 32; l++) assertEquals(x[32 * j + l], back[32 * j + l], (hi - lo) / 15 * 1.2f, "value " + (32 * j + l));
        }
    }
}
