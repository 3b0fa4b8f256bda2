package dev.loracle.runtime.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Matrix-vector products {@code out = W x} for F32, F16, Q8_0 and Q4_0 weights with the Vector API.
 * <p>
 * Two ways to multiply quantized weights: FLOAT dequantizes each block in registers and fuses with the float
 * activation; INT8 multiplies int8 weights with the activation pre-quantized to Q8 blocks ({@link Q8Activation})
 * and scales the exact integer block sums (llama.cpp's scheme). {@link DotMode#DEFAULT} is INT8: with the native
 * kernels ({@link NativeKernels}) it is 2-4x faster than FLOAT, and its results are the same bits with or without
 * them, so the default does not depend on the machine.
 * <p>
 * Determinism: in FLOAT mode the float vector width is fixed (256 bits unless {@code -Dloracle.vector.bits=512}) and
 * lane sums are reduced in lane order, so a row's result does not depend on the machine's preferred vector size or on
 * the thread count; INT8 mode depends on neither (exact block sums, one scalar fma chain per row).
 */
public final class MatVec {
    private MatVec() {}

    public enum DotMode {
        FLOAT, INT8;
        public static final DotMode DEFAULT = INT8;
    }

    static final VectorSpecies<Float> F = Integer.getInteger("loracle.vector.bits", 256) == 512
            ? FloatVector.SPECIES_512 : FloatVector.SPECIES_256;
    static final int L = F.length();

    /** Width of the float vectors the kernels use (256 unless -Dloracle.vector.bits=512). */
    public static int vectorBits() { return F.vectorBitSize(); }
    /** Bytes species with as many lanes as F (for B2F conversion of Q8_0 weights). */
    static final VectorSpecies<Byte> BF = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8));
    static final VectorSpecies<Byte> B128 = ByteVector.SPECIES_128;
    static final VectorSpecies<Short> S256 = ShortVector.SPECIES_256;
    static final VectorSpecies<Integer> I256 = IntVector.SPECIES_256;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    /** Below this many multiply-adds a matmul is not worth waking the workers for. */
    private static final int PARALLEL_GRAIN_ELEMENTS = 1 << 14;

    /** {@code out[r] = W[r,:] . x} for all rows; {@code xq} (may be null) is x quantized, used in INT8 mode. */
    public static void matmul(ParallelRunner pool, QuantizedTensor w, float[] x, Q8Activation xq, float[] out, DotMode mode) {
        int rows = Math.toIntExact(w.rows());
        int grain = Math.max(1, PARALLEL_GRAIN_ELEMENTS / (int) Math.min(Integer.MAX_VALUE, w.cols()));
        pool.forRange(rows, grain, (s, e) -> MatMul.rowsTimesTokens(w, s, e, x, xq, 1, out, mode));
    }

    /** Several matmuls with the same input in one parallel region (q/k/v, gate/up): one wake-up instead of three. */
    public static void matmulMany(ParallelRunner pool, QuantizedTensor[] ws, float[][] outs, float[] x, Q8Activation xq, DotMode mode) {
        int total = 0;
        int[] starts = new int[ws.length + 1];
        for (int i = 0; i < ws.length; i++) {
            starts[i] = total;
            total += Math.toIntExact(ws[i].rows());
        }
        starts[ws.length] = total;
        int grain = Math.max(1, PARALLEL_GRAIN_ELEMENTS / (int) Math.min(Integer.MAX_VALUE, ws[0].cols()));
        pool.forRange(total, grain, (s, e) -> {
            for (int i = 0; i < ws.length; i++) {
                int from = Math.max(s, starts[i]), to = Math.min(e, starts[i + 1]);
                QuantizedTensor w = ws[i];
                float[] out = outs[i];
                if (from < to) MatMul.rowsTimesTokens(w, from - starts[i], to - starts[i], x, xq, 1, out, mode);
            }
        });
    }

    /**
     * SwiGLU's first half in one parallel region: {@code out[r] = silu(Wg[r,:] . x) * (Wu[r,:] . x)}. Each row's two
     * dot products and its activation are computed by the thread that owns the row, so the SiLU (one exp per row) runs
     * in parallel instead of as a serial pass over the hidden vector. Same per-row arithmetic as two {@link #matmul}
     * calls followed by the SiLU.
     */
    public static void matmulSwiGlu(ParallelRunner pool, QuantizedTensor wg, QuantizedTensor wu, float[] x, Q8Activation xq,
                                    float[] out, DotMode mode) {
        if (wg.rows() != wu.rows() || wg.cols() != wu.cols()) {
            throw new IllegalArgumentException("gate " + wg + " and up " + wu + " differ in shape");
        }
        int rows = Math.toIntExact(wg.rows());
        int grain = Math.max(1, PARALLEL_GRAIN_ELEMENTS / (2 * (int) Math.min(Integer.MAX_VALUE, wg.cols())));
        MatMul.Quantized xqg = MatMul.withQ8K(wg, x, xq, 1, mode), xqu = MatMul.withQ8K(wu, x, xq, 1, mode);
        pool.forRange(rows, grain, (s, e) -> {
            float[] g = new float[e - s], u = new float[e - s];
            MatMul.rowsTimesTokens(wg, s, e, x, xqg, 1, g, e - s, -s, mode);
            MatMul.rowsTimesTokens(wu, s, e, x, xqu, 1, u, e - s, -s, mode);
            for (int r = s; r < e; r++) out[r] = silu(g[r - s]) * u[r - s];
        });
    }

    /**
     * x * sigmoid(x) as llama.cpp's AVX2 ggml_v_silu computes it ({@link GgmlExp}, then one add and one divide); every
     * step is an IEEE operation, so every machine and JIT tier gives the same bits.
     */
    public static float silu(float g) {
        return g / (1.0f + GgmlExp.expf(0f - g));
    }

    /** Dot product of row {@code row} of {@code w} with {@code x}. */
    public static float dotRow(QuantizedTensor w, long row, float[] x, Q8Activation xq, DotMode mode) {
        int n = (int) w.cols();
        long off = row * w.rowBytes();
        MemorySegment seg = w.data();
        return switch (w.type()) {
            case F32 -> dotF32(seg, off, x, 0, n);
            case F16 -> dotF16(seg, off, x, 0, n);
            case Q8_0 -> mode == DotMode.INT8 && xq != null ? dotQ8_0Int(seg, off, xq, 0, n) : dotQ8_0(seg, off, x, 0, n);
            case Q4_0 -> mode == DotMode.INT8 && xq != null ? dotQ4_0Int(seg, off, xq, 0, n) : dotQ4_0(seg, off, x, 0, n);
            case Q4_K, Q5_K, Q6_K -> {
                float[] y = new float[1];
                MatMul.rowsTimesTokens(w, (int) row, (int) row + 1, x, MatMul.withQ8K(w, x, xq, 1, mode), 1, y, 1, (int) -row, mode);
                yield y[0];
            }
            default -> throw new IllegalArgumentException("no kernel for " + w.type());
        };
    }

    static float sumLanes(FloatVector v) {
        float s = 0f;
        for (int i = 0; i < v.length(); i++) s += v.lane(i);
        return s;
    }

    static float dotF32(MemorySegment w, long off, float[] x, int xo, int n) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        int i = 0;
        for (int upper = n - 4 * L; i <= upper; i += 4 * L) {
            a0 = FloatVector.fromMemorySegment(F, w, off + 4L * i, LE).fma(FloatVector.fromArray(F, x, xo + i), a0);
            a1 = FloatVector.fromMemorySegment(F, w, off + 4L * (i + L), LE).fma(FloatVector.fromArray(F, x, xo + i + L), a1);
            a2 = FloatVector.fromMemorySegment(F, w, off + 4L * (i + 2 * L), LE).fma(FloatVector.fromArray(F, x, xo + i + 2 * L), a2);
            a3 = FloatVector.fromMemorySegment(F, w, off + 4L * (i + 3 * L), LE).fma(FloatVector.fromArray(F, x, xo + i + 3 * L), a3);
        }
        for (int upper = n - L; i <= upper; i += L) {
            a0 = FloatVector.fromMemorySegment(F, w, off + 4L * i, LE).fma(FloatVector.fromArray(F, x, xo + i), a0);
        }
        float s = sumLanes(a0.add(a1).add(a2.add(a3)));
        for (; i < n; i++) s += w.get(F32, off + 4L * i) * x[xo + i];
        return s;
    }

    static float dotF16(MemorySegment w, long off, float[] x, int xo, int n) {
        float s = 0f;
        for (int i = 0; i < n; i++) s += Float.float16ToFloat(w.get(I16, off + 2L * i)) * x[xo + i];
        return s;
    }

    static float dotQ8_0(MemorySegment w, long off, float[] x, int xo, int n) {
        FloatVector acc = FloatVector.zero(F);
        int nb = n / 32;
        for (int b = 0; b < nb; b++) {
            long o = off + 34L * b;
            float d = Float.float16ToFloat(w.get(I16, o));
            FloatVector blk = FloatVector.zero(F);
            for (int j = 0; j < 32; j += L) {
                FloatVector wv = (FloatVector) ByteVector.fromMemorySegment(BF, w, o + 2 + j, LE).convertShape(VectorOperators.B2F, F, 0);
                blk = wv.fma(FloatVector.fromArray(F, x, xo + b * 32 + j), blk);
            }
            acc = blk.fma(FloatVector.broadcast(F, d), acc);
        }
        return sumLanes(acc);
    }

    static float dotQ4_0(MemorySegment w, long off, float[] x, int xo, int n) {
        FloatVector acc = FloatVector.zero(F);
        int nb = n / 32;
        int parts = 16 / L;
        for (int b = 0; b < nb; b++) {
            long o = off + 18L * b;
            float d = Float.float16ToFloat(w.get(I16, o));
            ByteVector q = ByteVector.fromMemorySegment(B128, w, o + 2, LE);
            ByteVector lo = q.and((byte) 0x0F).sub((byte) 8);
            ByteVector hi = q.lanewise(VectorOperators.LSHR, 4).sub((byte) 8);
            FloatVector blk = FloatVector.zero(F);
            int xb = xo + b * 32;
            for (int p = 0; p < parts; p++) {
                blk = ((FloatVector) lo.convertShape(VectorOperators.B2F, F, p)).fma(FloatVector.fromArray(F, x, xb + p * L), blk);
                blk = ((FloatVector) hi.convertShape(VectorOperators.B2F, F, p)).fma(FloatVector.fromArray(F, x, xb + 16 + p * L), blk);
            }
            acc = blk.fma(FloatVector.broadcast(F, d), acc);
        }
        return sumLanes(acc);
    }

    /** Sum over 16 int8 pairs as 8 int lanes: widening to int16 is exact (|q| <= 128). */
    private static IntVector dot16(ByteVector a, ByteVector b) {
        ShortVector p = ((ShortVector) a.convertShape(VectorOperators.B2S, S256, 0))
                .mul((ShortVector) b.convertShape(VectorOperators.B2S, S256, 0));
        return ((IntVector) p.convertShape(VectorOperators.S2I, I256, 0))
                .add((IntVector) p.convertShape(VectorOperators.S2I, I256, 1));
    }

    /*
     * INT8 mode: each block's integer dot product is exact (|sum| < 2^20), so it does not depend on how a kernel splits
     * it into lanes; only the float part has an order, and it is fixed here: acc = fma((float) blockSum, dW * dX, acc)
     * over the blocks in order, one scalar chain per output element. Any vector width, the batched kernels
     * (MatMul) and the native AVX2 kernels (NativeKernels) therefore give the same bits.
     */

    static float dotQ8_0Int(MemorySegment w, long off, Q8Activation xq, int xBlock0, int n) {
        float acc = 0f;
        int nb = n / 32;
        for (int b = 0; b < nb; b++) {
            long o = off + 34L * b;
            int xb = xBlock0 + b;
            float d = Float.float16ToFloat(w.get(I16, o)) * xq.d[xb];
            int s = dot16(ByteVector.fromMemorySegment(B128, w, o + 2, LE), ByteVector.fromArray(B128, xq.q, xb * 32))
                    .add(dot16(ByteVector.fromMemorySegment(B128, w, o + 18, LE), ByteVector.fromArray(B128, xq.q, xb * 32 + 16)))
                    .reduceLanes(VectorOperators.ADD);
            acc = Math.fma((float) s, d, acc);
        }
        return acc;
    }

    static float dotQ4_0Int(MemorySegment w, long off, Q8Activation xq, int xBlock0, int n) {
        float acc = 0f;
        int nb = n / 32;
        for (int b = 0; b < nb; b++) {
            long o = off + 18L * b;
            int xb = xBlock0 + b;
            float d = Float.float16ToFloat(w.get(I16, o)) * xq.d[xb];
            ByteVector q = ByteVector.fromMemorySegment(B128, w, o + 2, LE);
            ByteVector lo = q.and((byte) 0x0F).sub((byte) 8);
            ByteVector hi = q.lanewise(VectorOperators.LSHR, 4).sub((byte) 8);
            int s = dot16(lo, ByteVector.fromArray(B128, xq.q, xb * 32))
                    .add(dot16(hi, ByteVector.fromArray(B128, xq.q, xb * 32 + 16)))
                    .reduceLanes(VectorOperators.ADD);
            acc = Math.fma((float) s, d, acc);
        }
        return acc;
    }

    /** Plain scalar reference of {@link #dotRow} in FLOAT mode (tests compare the vector kernels to it). */
    public static float dotRowReference(QuantizedTensor w, long row, float[] x) {
        int n = (int) w.cols();
        float[] tmp = new float[n];
        w.dequantizeRow(row, tmp, 0);
        double s = 0;
        for (int i = 0; i < n; i++) s += (double) tmp[i] * x[i];
        return (float) s;
    }
}
