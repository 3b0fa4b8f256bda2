package dev.loracle.runtime.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * GGUF block formats, bit-exact with llama.cpp's reference quantizers:
 * <ul>
 * <li>Q8_0: fp16 d + 32 int8 q; d = amax/127, q = roundf(x / d) (half away from zero).</li>
 * <li>Q4_0: fp16 d + 16 bytes; d = max/-8 where max is the signed value of largest |x|;
 *     q = min(15, (int)(x/d + 8.5)); byte j holds element j (low nibble) and j+16 (high nibble).</li>
 * </ul>
 */
public final class Quantization {
    private Quantization() {}

    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final VectorSpecies<Float> QF = FloatVector.SPECIES_256;
    private static final VectorSpecies<Integer> QI = IntVector.SPECIES_256;
    private static final VectorSpecies<Byte> QB = ByteVector.SPECIES_64;
    private static final int QL = QF.length();
    private static final java.nio.ByteOrder LE = java.nio.ByteOrder.LITTLE_ENDIAN;

    /** C roundf: round half away from zero (Math.round rounds half up, which differs for negative halves). */
    static int roundHalfAway(float v) {
        int r = (int) v;          // toward zero
        float frac = v - r;       // exact for |v| < 2^23 (quantized values are at most 127 in magnitude)
        if (frac >= 0.5f) r++;
        else if (frac <= -0.5f) r--;
        return r;
    }

    /** Quantizes {@code n} floats from {@code src[srcOff..]} into Q8_0 blocks at {@code dst[dstOff..]}. */
    public static void quantizeQ8_0(float[] src, int srcOff, int n, MemorySegment dst, long dstOff) {
        checkBlocks(n);
        for (int b = 0; b < n / 32; b++) {
            int base = srcOff + b * 32;
            long o = dstOff + 34L * b;
            FloatVector m = FloatVector.fromArray(QF, src, base).abs();
            for (int j = QL; j < 32; j += QL) m = m.max(FloatVector.fromArray(QF, src, base + j).abs());
            float amax = m.reduceLanes(VectorOperators.MAX);
            float d = amax / 127f;
            float id = d != 0f ? 1f / d : 0f;
            dst.set(I16, o, Float.floatToFloat16(d));
            for (int j = 0; j < 32; j += QL) {
                FloatVector v = FloatVector.fromArray(QF, src, base + j).mul(id);
                // roundf (half away from zero), exactly: truncate, then add trunc(2 * remainder), which is the remainder's
                // sign where |remainder| >= 0.5 and 0 otherwise (v - trunc(v) and the doubling are exact for |v| <= 127)
                IntVector r = (IntVector) v.convert(VectorOperators.F2I, 0);
                FloatVector frac = v.sub((FloatVector) r.convert(VectorOperators.I2F, 0));
                r = r.add((IntVector) frac.add(frac).convert(VectorOperators.F2I, 0));
                ((ByteVector) r.convertShape(VectorOperators.I2B, QB, 0)).intoMemorySegment(dst, o + 2 + j, LE);
            }
        }
    }

    /** Quantizes {@code n} floats from {@code src[srcOff..]} into Q4_0 blocks at {@code dst[dstOff..]}. */
    public static void quantizeQ4_0(float[] src, int srcOff, int n, MemorySegment dst, long dstOff) {
        checkBlocks(n);
        for (int b = 0; b < n / 32; b++) {
            int base = srcOff + b * 32;
            long o = dstOff + 18L * b;
            FloatVector m = FloatVector.fromArray(QF, src, base).abs();
            for (int j = QL; j < 32; j += QL) m = m.max(FloatVector.fromArray(QF, src, base + j).abs());
            float amax = m.reduceLanes(VectorOperators.MAX);
            float max = 0f;
            for (int j = 0; j < 32; j += QL) { // the first value of largest magnitude, with its sign (llama.cpp's choice)
                int first = FloatVector.fromArray(QF, src, base + j).abs().compare(VectorOperators.EQ, amax).firstTrue();
                if (first < QL) {
                    max = src[base + j + first];
                    break;
                }
            }
            float d = max / -8f;
            float id = d != 0f ? 1f / d : 0f;
            dst.set(I16, o, Float.floatToFloat16(d));
            for (int j = 0; j < 16; j += QL) {
                // (int)(x/d + 8.5) truncates a positive value; mul then add, as in C (no fused multiply-add)
                IntVector lo = ((IntVector) FloatVector.fromArray(QF, src, base + j).mul(id).add(8.5f).convert(VectorOperators.F2I, 0)).min(15);
                IntVector hi = ((IntVector) FloatVector.fromArray(QF, src, base + 16 + j).mul(id).add(8.5f).convert(VectorOperators.F2I, 0)).min(15);
                ((ByteVector) lo.or(hi.lanewise(VectorOperators.LSHL, 4)).convertShape(VectorOperators.I2B, QB, 0)).intoMemorySegment(dst, o + 2 + j, LE);
            }
        }
    }

    /** Encodes {@code n} floats as {@code type} (F32, F16, Q8_0, Q4_0, Q4_K) at {@code dst[dstOff..]}. */
    public static void quantize(GgmlType type, float[] src, int srcOff, int n, MemorySegment dst, long dstOff) {
        switch (type) {
            case F32 -> MemorySegment.copy(src, srcOff, dst, F32, dstOff, n);
            case F16 -> {
                for (int i = 0; i < n; i++) dst.set(I16, dstOff + 2L * i, Float.floatToFloat16(src[srcOff + i]));
            }
            case Q8_0 -> quantizeQ8_0(src, srcOff, n, dst, dstOff);
            case Q4_0 -> quantizeQ4_0(src, srcOff, n, dst, dstOff);
            case Q4_K -> KQuants.quantizeQ4K(src, srcOff, n, dst, dstOff);
            default -> throw new IllegalArgumentException("cannot encode " + type);
        }
    }

    /** Decodes {@code n} values of {@code type} starting at byte {@code srcOff} into {@code dst[dstOff..]}. */
    public static void dequantize(GgmlType type, MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        switch (type) {
            case F32 -> MemorySegment.copy(src, F32, srcOff, dst, dstOff, n);
            case F16 -> {
                for (int i = 0; i < n; i++) dst[dstOff + i] = Float.float16ToFloat(src.get(I16, srcOff + 2L * i));
            }
            case Q8_0 -> {
                checkBlocks(n);
                for (int b = 0; b < n / 32; b++) {
                    long o = srcOff + 34L * b;
                    float d = Float.float16ToFloat(src.get(I16, o));
                    int t = dstOff + b * 32;
                    for (int j = 0; j < 32; j += QL) {
                        ((FloatVector) ByteVector.fromMemorySegment(QB, src, o + 2 + j, LE).convertShape(VectorOperators.B2F, QF, 0))
                                .mul(d).intoArray(dst, t + j);
                    }
                }
            }
            case Q4_0 -> {
                checkBlocks(n);
                for (int b = 0; b < n / 32; b++) {
                    long o = srcOff + 18L * b;
                    float d = Float.float16ToFloat(src.get(I16, o));
                    int t = dstOff + b * 32;
                    for (int j = 0; j < 16; j += QL) { // byte j holds element j (low nibble) and j + 16 (high nibble)
                        ByteVector q = ByteVector.fromMemorySegment(QB, src, o + 2 + j, LE);
                        ((FloatVector) q.and((byte) 0x0F).sub((byte) 8).convertShape(VectorOperators.B2F, QF, 0)).mul(d).intoArray(dst, t + j);
                        ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).sub((byte) 8).convertShape(VectorOperators.B2F, QF, 0))
                                .mul(d).intoArray(dst, t + 16 + j);
                    }
                }
            }
            case Q4_K, Q5_K, Q6_K, BF16 -> KQuants.dequantize(type, src, srcOff, dst, dstOff, n);
            default -> throw new IllegalArgumentException("cannot decode " + type);
        }
    }

    private static void checkBlocks(int n) {
        if (n % 32 != 0) throw new IllegalArgumentException("block-quantized length must be a multiple of 32, got " + n);
    }
}
