package dev.loracle.runtime.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Batch invariance: every batched result is bit-identical to the single-token path, whatever n and thread count. */
class MatMulTest {

    static float[] randomX(int n, int cols, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n * cols];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    /** Token t alone through the pure-Java single-token kernels (MatVec.dotRow), as float bits. */
    static int[] singleTokenBits(QuantizedTensor w, float[] x, int n, MatVec.DotMode mode) {
        int rows = (int) w.rows(), cols = (int) w.cols();
        int[] bits = new int[n * rows];
        for (int t = 0; t < n; t++) {
            float[] xt = java.util.Arrays.copyOfRange(x, t * cols, (t + 1) * cols);
            Q8Activation xq = new Q8Activation(cols).quantize(xt, cols);
            for (int r = 0; r < rows; r++) bits[t * rows + r] = Float.floatToRawIntBits(MatVec.dotRow(w, r, xt, xq, mode));
        }
        return bits;
    }

    /** Also the decode path (MatVec.matmul, which the native kernels serve in INT8 mode) for token t alone. */
    static int[] matVecBits(QuantizedTensor w, float[] x, int n, MatVec.DotMode mode, ParallelRunner pool) {
        int rows = (int) w.rows(), cols = (int) w.cols();
        int[] bits = new int[n * rows];
        for (int t = 0; t < n; t++) {
            float[] xt = java.util.Arrays.copyOfRange(x, t * cols, (t + 1) * cols);
            float[] out = new float[rows];
            MatVec.matmul(pool, w, xt, new Q8Activation(cols).quantize(xt, cols), out, mode);
            for (int r = 0; r < rows; r++) bits[t * rows + r] = Float.floatToRawIntBits(out[r]);
        }
        return bits;
    }

    static void assertBits(int[] expected, float[] actual, int rows, String what) {
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] != Float.floatToRawIntBits(actual[i])) {
                assertEquals(Float.intBitsToFloat(expected[i]), actual[i],
                        what + ": token " + i / rows + " row " + i % rows + " differs from the single-token result");
            }
        }
    }

    @ParameterizedTest(name = "{0} {1} {2} threads")
    @CsvSource({"F32,FLOAT,2", "F16,FLOAT,2", "Q8_0,FLOAT,2", "Q4_0,FLOAT,2", "Q8_0,INT8,2", "Q4_0,INT8,2",
            "Q8_0,FLOAT,3", "Q4_0,INT8,1"})
    void everyBatchSizeGivesTheSingleTokenBits(GgmlType type, MatVec.DotMode mode, int threads) {
        int rows = 75, cols = 256; // 75 rows: full row tiles and a remainder, split unevenly over the threads
        int maxN = 256;
        try (Arena arena = Arena.ofShared(); ParallelRunner pool = new ParallelRunner(threads)) {
            QuantizedTensor w = MatVecTest.randomTensor(type, rows, cols, 21, arena);
            float[] x = randomX(maxN, cols, 22);
            int[] single = singleTokenBits(w, x, maxN, mode);
            assertEquals(java.util.Arrays.toString(java.util.Arrays.copyOf(single, 3 * rows)),
                    java.util.Arrays.toString(matVecBits(w, x, 3, mode, pool)), "MatVec differs from the single-token kernels");
            for (int n : new int[] {1, 3, 16, 64, 256}) {
                float[] y = new float[n * rows];
                MatMul.matmul(pool, w, x, n, y, mode);
                assertBits(java.util.Arrays.copyOf(single, n * rows), y, rows, type + " " + mode + " n=" + n);
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"Q8_0,FLOAT", "Q4_0,FLOAT", "Q8_0,INT8", "Q4_0,INT8", "F32,FLOAT"})
    void sharedInputAndSwiGluVariantsMatchTheSingleTokenPath(GgmlType type, MatVec.DotMode mode) {
        int cols = 128, n = 19;
        try (Arena arena = Arena.ofShared(); ParallelRunner pool = new ParallelRunner(2)) {
            QuantizedTensor q = MatVecTest.randomTensor(type, 64, cols, 31, arena);
            QuantizedTensor k = MatVecTest.randomTensor(type, 33, cols, 32, arena);
            QuantizedTensor v = MatVecTest.randomTensor(type, 33, cols, 33, arena);
            float[] x = randomX(n, cols, 34);
            float[][] ys = {new float[n * 64], new float[n * 33], new float[n * 33]};
            MatMul.matmulMany(pool, new QuantizedTensor[] {q, k, v}, x, n, ys, mode);
            assertBits(singleTokenBits(q, x, n, mode), ys[0], 64, "q");
            assertBits(singleTokenBits(k, x, n, mode), ys[1], 33, "k");
            assertBits(singleTokenBits(v, x, n, mode), ys[2], 33, "v");

            QuantizedTensor g = MatVecTest.randomTensor(type, 70, cols, 35, arena);
            QuantizedTensor u = MatVecTest.randomTensor(type, 70, cols, 36, arena);
            float[] fused = new float[n * 70];
            MatMul.matmulSwiGlu(pool, g, u, x, n, fused, mode);
            try (ParallelRunner one = new ParallelRunner(1)) {
                for (int t = 0; t < n; t++) {
                    float[] xt = java.util.Arrays.copyOfRange(x, t * cols, (t + 1) * cols);
                    float[] out = new float[70];
                    MatVec.matmulSwiGlu(one, g, u, xt, new Q8Activation(cols).quantize(xt, cols), out, mode);
                    for (int r = 0; r < 70; r++) {
                        assertEquals(Float.floatToRawIntBits(out[r]), Float.floatToRawIntBits(fused[t * 70 + r]), "swiglu token " + t + " row " + r);
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"Q8_0", "Q4_0"})
    void int8BlockSumsAreExactSoTheResultIsTheScaledIntegerChain(GgmlType type) {
        // the INT8 contract that makes vector width and native kernels irrelevant: fma((float) exactBlockSum, dW*dX, acc)
        int rows = 5, cols = 96;
        try (Arena arena = Arena.ofShared(); ParallelRunner pool = new ParallelRunner(1)) {
            QuantizedTensor w = MatVecTest.randomTensor(type, rows, cols, 41, arena);
            float[] x = randomX(1, cols, 42);
            Q8Activation xq = new Q8Activation(cols).quantize(x, cols);
            float[] y = new float[rows];
            MatMul.matmul(pool, w, x, 1, y, MatVec.DotMode.INT8);
            float[] wRow = new float[cols];
            for (int r = 0; r < rows; r++) {
                float acc = 0f;
                for (int b = 0; b < cols / 32; b++) {
                    long o = r * w.rowBytes() + (long) type.blockBytes() * b;
                    float dw = Float.float16ToFloat(w.data().get(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, o));
                    w.dequantizeRow(r, wRow, 0);
                    int s = 0;
                    for (int j = 0; j < 32; j++) s += Math.round(wRow[b * 32 + j] / dw) * xq.q[b * 32 + j];
                    acc = Math.fma((float) s, dw * xq.d[b], acc);
                }
                assertEquals(Float.floatToRawIntBits(acc), Float.floatToRawIntBits(y[r]), "row " + r);
            }
        }
    }

    @org.junit.jupiter.api.Test
    void badShapesAreRejected() {
        try (Arena arena = Arena.ofShared(); ParallelRunner pool = new ParallelRunner(1)) {
            QuantizedTensor w = MatVecTest.randomTensor(GgmlType.Q8_0, 8, 64, 1, arena);
            assertThrows(IllegalArgumentException.class, () -> MatMul.matmul(pool, w, new float[64 * 2 - 1], 2, new float[16], MatVec.DotMode.FLOAT));
            assertThrows(IllegalArgumentException.class, () -> MatMul.matmul(pool, w, new float[64 * 2], 2, new float[15], MatVec.DotMode.FLOAT));
            assertThrows(IllegalArgumentException.class, () -> MatMul.matmul(pool, w, new float[64], 0, new float[8], MatVec.DotMode.FLOAT));
        }
    }
}
