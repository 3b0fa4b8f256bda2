package dev.loracle.runtime.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Java kernels for K-quant weights (Q4_K, Q5_K, Q6_K, kept in their GGUF block layout) times {@link Q8KActivation}s,
 * llama.cpp's scheme for these types, with the float steps of llama.cpp's AVX2 kernels (ggml_vec_dot_q4_K_q8_K and
 * siblings) so that the logits match its goldens to float rounding, not just to the quantization noise. The contract
 * the native kernels ({@code kquant_rows.inc}) share, per output, with acc[8] = 0, accm[4] = 0, summs = 0:
 * <pre>
 *   per 256-value super-block b, exact integers in 8 lanes: lane k = sum over the 32-value chunks c of
 *       scale(c, k) * sum_{e = 4k..4k+3} (u[32c + e] - off) * x[32c + e]     (u: unsigned quant; off 32 for Q6_K, else 0)
 *   d = dX * dW;  acc[k] = fma(d, (float) lane[k], acc[k])
 *   Q4_K: accm[m] = fma(-dX * dminW, (float) (min_2m * s_2m + min_2m+1 * s_2m+1), accm[m])   (s_j: sum of x over sub-block j)
 *   Q5_K: summs = fma(-dX * dminW, (float) sum_j min_j * s_j, summs)
 *   result = ((acc0 + acc4) + (acc2 + acc6)) + ((acc1 + acc5) + (acc3 + acc7))
 *            [+ ((accm0 + accm2) + (accm1 + accm3)) for Q4_K] [+ summs for Q5_K]
 * </pre>
 * Integers are exact, so a result depends on neither vector width, tiling, token count, thread count nor Java vs
 * native. A row is decoded once ({@link Row}, its quants in lane order) and then multiplied with every token of the
 * step; the lane sums use the Vector API (8 int lanes).
 */
final class KQuantDot {
    private KQuantDot() {}

    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    static final int QK_K = 256;

    /** One weight row decoded to unsigned quants, per-16 scales and mins (Q4_K/Q5_K), and per-super-block F32 scales. */
    static final class Row {
        /**
         * The unsigned quants u minus the offset (32 for Q6_K, else 0) in lane order, up[32c + 8j + k] = u[32c + 4k + j]
         * - off, so that 8 lanes load at once.
         */
        final byte[] up;
        /** The scale of lane k of chunk c: laneScale[8c + k] (per super-block: 64 entries). */
        final int[] laneScale;
        final int[] scale, min;
        final float[] d, dmin;
        private final byte[] raw;

        Row(GgmlType type, int cols) {
            up = new byte[cols];
            laneScale = new int[cols / 4];
            scale = new int[cols / 16];
            min = new int[cols / 16];
            d = new float[cols / QK_K];
            dmin = new float[cols / QK_K];
            raw = new byte[type.blockBytes()];
        }

        void decode(GgmlType type, MemorySegment w, long off) {
            for (int b = 0; b < d.length; b++) {
                MemorySegment.copy(w, ValueLayout.JAVA_BYTE, off + (long) b * type.blockBytes(), raw, 0, raw.length);
                switch (type) {
                    case Q4_K -> q4k(b, false);
                    case Q5_K -> q4k(b, true);
                    case Q6_K -> q6k(b);
                    default -> throw new IllegalArgumentException("not a K-quant: " + type);
                }
            }
            for (int l = 0; l < laneScale.length; l++) laneScale[l] = scale[l * 4 / 16];
        }

        private int u8(int i) { return raw[i] & 0xFF; }
        private float f16(int i) { return Float.float16ToFloat((short) (u8(i) | u8(i + 1) << 8)); }

        /** Q4_K, or Q5_K with the fifth bits from qh (32 bytes after the scales). */
        private void q4k(int b, boolean five) {
            d[b] = f16(0);
            dmin[b] = f16(2);
            int qs = five ? 48 : 16, e0 = b * QK_K;
            for (int j = 0; j < 8; j++) { // sub-block j: 32 values, low (j even) or high nibbles of bytes 32*(j/2)..
                int sc, m;
                if (j < 4) {
                    sc = u8(4 + j) & 63;
                    m = u8(4 + j + 4) & 63;
                } else {
                    sc = (u8(4 + j + 4) & 0xF) | (u8(4 + j - 4) >> 6) << 4;
                    m = (u8(4 + j + 4) >> 4) | (u8(4 + j) >> 6) << 4;
                }
                int g = (e0 + 32 * j) / 16;
                scale[g] = scale[g + 1] = sc;
                min[g] = min[g + 1] = m;
                int shift = (j & 1) * 4;
                for (int l = 0; l < 32; l++) {
                    int q = (u8(qs + 32 * (j / 2) + l) >> shift) & 0xF;
                    if (five && (u8(16 + l) >> j & 1) != 0) q += 16;
                    up[lanePosition(e0 + 32 * j + l)] = (byte) q;
                }
            }
        }

        private void q6k(int b) {
            d[b] = f16(208);
            int e0 = b * QK_K;
            for (int h = 0; h < 2; h++) {
                int ql = 64 * h, qh = 128 + 32 * h, base = e0 + 128 * h;
                for (int l = 0; l < 32; l++) {
                    int hb = u8(qh + l), lo = u8(ql + l), hi = u8(ql + l + 32);
                    up[lanePosition(base + l)] = (byte) (((lo & 0xF) | (hb & 3) << 4) - 32);
                    up[lanePosition(base + 32 + l)] = (byte) (((hi & 0xF) | (hb >> 2 & 3) << 4) - 32);
                    up[lanePosition(base + 64 + l)] = (byte) (((lo >> 4) | (hb >> 4 & 3) << 4) - 32);
                    up[lanePosition(base + 96 + l)] = (byte) (((hi >> 4) | (hb >> 6 & 3) << 4) - 32);
                }
            }
            for (int g = 0; g < 16; g++) scale[e0 / 16 + g] = raw[192 + g];
        }
    }

    private static final VectorSpecies<Integer> I8 = IntVector.SPECIES_256;

    /** Where value e of a super-block's 32-value chunk goes in lane order: 8j + k for e = 4k + j. */
    static int lanePosition(int e) {
        int inChunk = e & 31;
        return (e & ~31) + 8 * (inChunk & 3) + (inChunk >> 2);
    }

    private static IntVector widen(byte[] a, int off) {
        return (IntVector) ByteVector.fromArray(ByteVector.SPECIES_64, a, off).convertShape(VectorOperators.B2I, I8, 0);
    }

    /** Decoded row {@code w} times token {@code x} (super-blocks from {@code xSuper0}), by the contract above. */
    static float dot(GgmlType type, Row w, Q8KActivation x, int xSuper0) {
        float[] acc = new float[8], accm = new float[4];
        int[] lane = new int[8];
        float summs = 0f;
        byte[] up = w.up, xp = x.lanePermuted();
        for (int b = 0; b < w.d.length; b++) {
            int xb = xSuper0 + b, e0 = b * QK_K, x0 = xb * QK_K;
            IntVector lanes = IntVector.zero(I8);
            for (int c = 0; c < 8; c++) {
                IntVector sum = IntVector.zero(I8);
                for (int j = 0; j < 4; j++) {
                    int e = e0 + 32 * c + 8 * j, xe = x0 + 32 * c + 8 * j;
                    sum = sum.add(widen(up, e).mul(widen(xp, xe)));
                }
                lanes = lanes.add(sum.mul(IntVector.fromArray(I8, w.laneScale, b * 64 + 8 * c)));
            }
            lanes.intoArray(lane, 0);
            float dx = x.d[xb], d = dx * w.d[b];
            for (int k = 0; k < 8; k++) acc[k] = Math.fma(d, (float) lane[k], acc[k]);
            if (type == GgmlType.Q6_K) continue;
            float dmin = -dx * w.dmin[b];
            int[] bs = x.bsums;
            int g0 = xb * 16, m0 = b * 16;
            if (type == GgmlType.Q4_K) {
                for (int m = 0; m < 4; m++) {
                    int p = w.min[m0 + 4 * m] * (bs[g0 + 4 * m] + bs[g0 + 4 * m + 1]) + w.min[m0 + 4 * m + 2] * (bs[g0 + 4 * m + 2] + bs[g0 + 4 * m + 3]);
                    accm[m] = Math.fma(dmin, (float) p, accm[m]);
                }
            } else {
                int imin = 0;
                for (int j = 0; j < 8; j++) imin += w.min[m0 + 2 * j] * (bs[g0 + 2 * j] + bs[g0 + 2 * j + 1]);
                summs = Math.fma(dmin, (float) imin, summs);
            }
        }
        float sum = ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
        return switch (type) {
            case Q4_K -> sum + ((accm[0] + accm[2]) + (accm[1] + accm[3]));
            case Q5_K -> sum + summs;
            default -> sum;
        };
    }

    /** Rows [r0, r1) of K-quant {@code w} times the n tokens of {@code x}, into {@code y[t*yStride + r + yShift]}. */
    static void rows(QuantizedTensor w, int r0, int r1, Q8KActivation x, int n, float[] y, int yStride, int yShift) {
        int cols = Math.toIntExact(w.cols()), nsb = cols / QK_K;
        Row row = new Row(w.type(), cols);
        for (int r = r0; r < r1; r++) {
            row.decode(w.type(), w.data(), r * w.rowBytes());
            for (int t = 0; t < n; t++) y[t * yStride + r + yShift] = dot(w.type(), row, x, t * nsb);
        }
    }

    /** FLOAT mode: rows decoded to F32 ({@link KQuants}) times float tokens, one fma chain per output in element order. */
    static void floatRows(QuantizedTensor w, int r0, int r1, float[] x, int n, float[] y, int yStride, int yShift) {
        int cols = Math.toIntExact(w.cols());
        float[] row = new float[cols];
        for (int r = r0; r < r1; r++) {
            w.dequantizeRow(r, row, 0);
            for (int t = 0; t < n; t++) {
                float acc = 0f;
                int xo = t * cols;
                for (int i = 0; i < cols; i++) acc = Math.fma(row[i], x[xo + i], acc);
                y[t * yStride + r + yShift] = acc;
            }
        }
    }
}
