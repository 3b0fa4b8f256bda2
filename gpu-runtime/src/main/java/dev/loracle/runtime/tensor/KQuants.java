package dev.loracle.runtime.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Decoding of ggml's 256-element "K" super-blocks and of BF16, as defined in ggml-common.h / ggml-quants.c:
 * <ul>
 * <li>Q4_K (144 bytes): fp16 d, fp16 dmin, 12 bytes of eight 6-bit (scale, min) pairs, 128 bytes of 4-bit q. Each
 *     64 elements use two pairs: the first 32 the low nibbles, the next 32 the high nibbles of the same 32 bytes;
 *     x = d * scale * q - dmin * min.</li>
 * <li>Q5_K (176 bytes): as Q4_K plus 32 bytes qh before the nibbles; bit (2k) / (2k+1) of qh[l] adds 16 to element l of
 *     the low / high half of 64-element group k.</li>
 * <li>Q6_K (210 bytes): 128 bytes low nibbles ql, 64 bytes high 2-bit pairs qh, 16 int8 scales, fp16 d; per 128
 *     elements, element l (l &lt; 32) of each 32-quarter j takes nibble (j &amp; 1 ? ql[l+32] : ql[l]) &gt;&gt; (j &gt;= 2 ? 4 : 0)
 *     and bits 2j..2j+1 of qh[l]; x = d * scale[l/16 + 2j] * (q - 32).</li>
 * <li>BF16: the upper 16 bits of an IEEE float32.</li>
 * </ul>
 */
final class KQuants {
    private KQuants() {}

    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    static final int QK_K = 256;

    static void dequantize(GgmlType type, MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        if (type == GgmlType.BF16) {
            for (int i = 0; i < n; i++) dst[dstOff + i] = Float.intBitsToFloat((src.get(I16, srcOff + 2L * i) & 0xFFFF) << 16);
            return;
        }
        if (n % QK_K != 0) throw new IllegalArgumentException(type + " length must be a multiple of 256, got " + n);
        for (int b = 0; b < n / QK_K; b++) {
            long o = srcOff + (long) type.blockBytes() * b;
            int y = dstOff + b * QK_K;
            switch (type) {
                case Q4_K -> q4k(src, o, dst, y);
                case Q5_K -> q5k(src, o, dst, y);
                case Q6_K -> q6k(src, o, dst, y);
                default -> throw new IllegalArgumentException("not a K-quant: " + type);
            }
        }
    }

    private static int u8(MemorySegment s, long o) { return s.get(ValueLayout.JAVA_BYTE, o) & 0xFF; }

    /** The 6-bit scale (j) and min (j + 8 in the result's high half) of sub-block j from the 12 packed bytes at o. */
    static int scaleMin(MemorySegment s, long o, int j) {
        int sc, m;
        if (j < 4) {
            sc = u8(s, o + j) & 63;
            m = u8(s, o + j + 4) & 63;
        } else {
            sc = (u8(s, o + j + 4) & 0xF) | ((u8(s, o + j - 4) >> 6) << 4);
            m = (u8(s, o + j + 4) >> 4) | ((u8(s, o + j) >> 6) << 4);
        }
        return sc | m << 8;
    }

    private static void q4k(MemorySegment s, long o, float[] y, int t) {
        float d = Float.float16ToFloat(s.get(I16, o));
        float dmin = Float.float16ToFloat(s.get(I16, o + 2));
        long scales = o + 4, qs = o + 16;
        for (int g = 0; g < 4; g++) {
            int sm1 = scaleMin(s, scales, 2 * g), sm2 = scaleMin(s, scales, 2 * g + 1);
            float d1 = d * (sm1 & 0xFF), m1 = dmin * (sm1 >> 8), d2 = d * (sm2 & 0xFF), m2 = dmin * (sm2 >> 8);
            for (int l = 0; l < 32; l++) {
                int q = u8(s, qs + 32L * g + l);
                y[t + 64 * g + l] = Math.fma(d1, q & 0xF, -m1);
                y[t + 64 * g + 32 + l] = Math.fma(d2, q >> 4, -m2);
            }
        }
    }

    private static void q5k(MemorySegment s, long o, float[] y, int t) {
        float d = Float.float16ToFloat(s.get(I16, o));
        float dmin = Float.float16ToFloat(s.get(I16, o + 2));
        long scales = o + 4, qh = o + 16, qs = o + 48;
        for (int g = 0; g < 4; g++) {
            int sm1 = scaleMin(s, scales, 2 * g), sm2 = scaleMin(s, scales, 2 * g + 1);
            float d1 = d * (sm1 & 0xFF), m1 = dmin * (sm1 >> 8), d2 = d * (sm2 & 0xFF), m2 = dmin * (sm2 >> 8);
            int lowBit = 1 << (2 * g), highBit = 2 << (2 * g);
            for (int l = 0; l < 32; l++) {
                int q = u8(s, qs + 32L * g + l), h = u8(s, qh + l);
                y[t + 64 * g + l] = Math.fma(d1, (q & 0xF) + ((h & lowBit) != 0 ? 16 : 0), -m1);
                y[t + 64 * g + 32 + l] = Math.fma(d2, (q >> 4) + ((h & highBit) != 0 ? 16 : 0), -m2);
            }
        }
    }

    private static void q6k(MemorySegment s, long o, float[] y, int t) {
        float d = Float.float16ToFloat(s.get(I16, o + 208));
        for (int half = 0; half < 2; half++) {
            long ql = o + 64L * half, qh = o + 128 + 32L * half, sc = o + 192 + 8L * half;
            int base = t + 128 * half;
            for (int l = 0; l < 32; l++) {
                int is = l / 16, h = u8(s, qh + l), lo = u8(s, ql + l), hi = u8(s, ql + l + 32);
                int q1 = ((lo & 0xF) | ((h & 3) << 4)) - 32;
                int q2 = ((hi & 0xF) | (((h >> 2) & 3) << 4)) - 32;
                int q3 = ((lo >> 4) | (((h >> 4) & 3) << 4)) - 32;
                int q4 = ((hi >> 4) | (((h >> 6) & 3) << 4)) - 32;
                y[base + l] = d * s.get(ValueLayout.JAVA_BYTE, sc + is) * q1;
                y[base + 32 + l] = d * s.get(ValueLayout.JAVA_BYTE, sc + is + 2) * q2;
                y[base + 64 + l] = d * s.get(ValueLayout.JAVA_BYTE, sc + is + 4) * q3;
                y[base + 96 + l] = d * s.get(ValueLayout.JAVA_BYTE, sc + is + 6) * q4;
            }
        }
    }

    /**
     * A plain Q4_K encoder (for random-weight benchmark models; llama-quantize searches scales and minimums, this takes
     * each 32-value sub-block's range): minimum = -min(0, lo) and scale = (hi + minimum) / 15, both quantized to 6 bits
     * against the super-block's largest, values rounded to 0..15.
     */
    static void quantizeQ4K(float[] x, int off, int n, MemorySegment dst, long dstOff) {
        if (n % QK_K != 0) throw new IllegalArgumentException("Q4_K length must be a multiple of 256, got " + n);
        float[] scale = new float[8];
        int[] sc = new int[8], mn = new int[8];
        for (int b = 0; b < n / QK_K; b++) {
            int x0 = off + b * QK_K;
            long o = dstOff + 144L * b;
            float[] lo = new float[8], hi = new float[8];
            float maxMin = 0;
            for (int j = 0; j < 8; j++) {
                for (int l = 0; l < 32; l++) {
                    lo[j] = Math.min(lo[j], x[x0 + 32 * j + l]);
                    hi[j] = Math.max(hi[j], x[x0 + 32 * j + l]);
                }
                maxMin = Math.max(maxMin, -lo[j]);
            }
            // minimums rounded up (every value + minimum >= 0), scales rounded up to cover the range plus that slack,
            // super-block scales rounded up through fp16, so no value is clipped
            short mh = halfUp(maxMin / 63);
            float dmin = Float.float16ToFloat(mh);
            float maxScale = 0;
            for (int j = 0; j < 8; j++) {
                mn[j] = dmin > 0 ? Math.min(63, (int) Math.ceil(-lo[j] / dmin)) : 0;
                scale[j] = (hi[j] + dmin * mn[j]) / 15;
                maxScale = Math.max(maxScale, scale[j]);
            }
            short dh = halfUp(maxScale / 63);
            float d = Float.float16ToFloat(dh);
            dst.set(I16, o, dh);
            dst.set(I16, o + 2, mh);
            for (int j = 0; j < 8; j++) sc[j] = d > 0 ? Math.min(63, (int) Math.ceil(scale[j] / d)) : 0;
            for (int j = 0; j < 4; j++) { // the packing scaleMin reads back
                dst.set(ValueLayout.JAVA_BYTE, o + 4 + j, (byte) (sc[j] | (sc[j + 4] >> 4) << 6));
                dst.set(ValueLayout.JAVA_BYTE, o + 8 + j, (byte) (mn[j] | (mn[j + 4] >> 4) << 6));
                dst.set(ValueLayout.JAVA_BYTE, o + 12 + j, (byte) ((sc[j + 4] & 0xF) | (mn[j + 4] & 0xF) << 4));
            }
            for (int g = 0; g < 4; g++) {
                for (int l = 0; l < 32; l++) {
                    int low = q4(x[x0 + 64 * g + l], d * sc[2 * g], dmin * mn[2 * g]);
                    int high = q4(x[x0 + 64 * g + 32 + l], d * sc[2 * g + 1], dmin * mn[2 * g + 1]);
                    dst.set(ValueLayout.JAVA_BYTE, o + 16 + 32L * g + l, (byte) (low | high << 4));
                }
            }
        }
    }

    /** The smallest fp16 value >= v (v >= 0). */
    private static short halfUp(float v) {
        short h = Float.floatToFloat16(v);
        return Float.float16ToFloat(h) < v ? (short) (h + 1) : h;
    }

    private static int q4(float v, float step, float minimum) {
        return step > 0 ? Math.max(0, Math.min(15, Math.round((v + minimum) / step))) : 0;
    }
}
