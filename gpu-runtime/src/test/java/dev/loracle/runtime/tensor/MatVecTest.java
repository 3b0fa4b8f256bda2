package dev.loracle.runtime.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MatVecTest {

    static QuantizedTensor randomTensor(GgmlType type, int rows, int cols, long seed, Arena arena) {
        SplittableRandom r = new SplittableRandom(seed);
        long rowBytes = type.bytesFor(cols);
        MemorySegment seg = arena.allocate(rowBytes * rows, 64);
        float[] row = new float[cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) row[j] = (float) r.nextGaussian();
            Quantization.quantize(type, row, 0, cols, seg, i * rowBytes);
        }
        return new QuantizedTensor("w", type, rows, cols, seg);
    }

    @ParameterizedTest
    @CsvSource({"F32,FLOAT,67,172", "F32,FLOAT,130,768", "F16,FLOAT,9,96", "Q8_0,FLOAT,70,768", "Q4_0,FLOAT,70,768",
            "Q8_0,INT8,70,768", "Q4_0,INT8,70,768"})
    void vectorKernelsAgreeWithTheScalarReference(GgmlType type, MatVec.DotMode mode, int rows, int cols) {
        try (Arena arena = Arena.ofShared(); ParallelRunner pool = new ParallelRunner(3)) {
            QuantizedTensor w = randomTensor(type, rows, cols, 7, arena);
            float[] x = new float[cols];
            SplittableRandom r = new SplittableRandom(9);
            for (int i = 0; i < cols; i++) x[i] = (float) r.nextGaussian();
            Q8Activation xq = cols % 32 == 0 ? new Q8Activation(cols).quantize(x, cols) : null;
            float[] out = new float[rows];
            MatVec.matmul(pool, w, x, xq, out, mode);
            float[] single = new float[rows];
            try (ParallelRunner one = new ParallelRunner(1)) {
                MatVec.matmul(one, w, x, xq, single, mode);
            }
            for (int i = 0; i < rows; i++) {
                float ref = MatVec.dotRowReference(w, i, x);
                // INT8 also quantizes x (relative error ~1/127 per element, averaged over the row)
                float tol = mode == MatVec.DotMode.INT8 ? 0.02f * (float) Math.sqrt(cols) * 3 : 1e-3f * (float) Math.sqrt(cols);
                assertTrue(Math.abs(out[i] - ref) <= tol, "row " + i + ": " + out[i] + " vs " + ref);
                assertEquals(Float.floatToIntBits(single[i]), Float.floatToIntBits(out[i]), "thread count changed row " + i);
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"F32,FLOAT", "Q8_0,FLOAT", "Q4_0,FLOAT", "Q8_0,INT8", "Q4_0,INT8"})
    void fusedSwiGluEqualsTwoMatmulsAndTheSiluBitForBit(GgmlType type, MatVec.DotMode mode) {
        int rows = 200, cols = 256;
        try (Arena arena = Arena.ofShared(); ParallelRunner pool = new ParallelRunner(3)) {
            QuantizedTensor wg = randomTensor(type, rows, cols, 11, arena);
            QuantizedTensor wu = randomTensor(type, rows, cols, 12, arena);
            float[] x = new float[cols];
            SplittableRandom r = new SplittableRandom(13);
            for (int i = 0; i < cols; i++) x[i] = (float) r.nextGaussian();
            Q8Activation xq = new Q8Activation(cols).quantize(x, cols);
            float[] g = new float[rows], u = new float[rows], fused = new float[rows];
            MatVec.matmul(pool, wg, x, xq, g, mode);
            MatVec.matmul(pool, wu, x, xq, u, mode);
            MatVec.matmulSwiGlu(pool, wg, wu, x, xq, fused, mode);
            for (int i = 0; i < rows; i++) {
                float expected = MatVec.silu(g[i]) * u[i];
                assertEquals(Float.floatToIntBits(expected), Float.floatToIntBits(fused[i]), "row " + i);
            }
        }
    }
}
