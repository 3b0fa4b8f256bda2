package dev.loracle.runtime.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Java kernels for K-quant weights (Q4_K, Q5_K, Q6_K, kept in their GGUF block layout) times {@link Q8KActivation}s,
 * llama.cpp's scheme for these types. The contract the native kernels ({@code kquant_rows.inc}) share, per output:
 * for each 256-value super-block b in order, exact integers
 * <pre>
 *   isum = sum over 16-value groups g of scale_g * sum(u_e * x_e)     (u: the unsigned quant, 0..31 or 0..63)
 *   imin = sum over g of min_g * bsum_g                              (Q6_K: min_g = 32 * scale_g)
 * </pre>
 * then {@code acc = fma((float) isum, dW * dX, acc); acc = fma((float) -imin, dminW * dX, acc)} for Q4_K/Q5_K and
 * {@code acc = fma((float) (isum - imin), dW * dX, acc)} for Q6_K, from acc = 0. So a result depends on neither
 * vector width, tiling, token count, thread count nor Java vs native.
 * <p>
 * A row is decoded once ({@link Row}) and then multiplied with every token of the step.
 */
final class KQuantDot {
    private KQuantDot() {}

    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    static final int QK_K = 256;

    /** One weight row decoded to unsigned quants, per-16 scales and mins, and per-super-block F32 scales. */
    static final class Row {
        final byte[] u;
        final int[] scale, min;
        final float[] d, dmin;
        private final byte[] raw;

        Row(GgmlType type, int cols) {
            u = new byte[cols];
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
                    u[e0 + 32 * j + l] = (byte) q;
                }
            }
        }

        private void q6k(int b) {
            d[b] = f16(208);
            dmin[b] = d[b];
            int e0 = b * QK_K;
            for (int h = 0; h < 2; h++) {
                int ql = 64 * h, qh = 128 + 32 * h, base = e0 + 128 * h;
                for (int l = 0; l < 32; l++) {
                    int hb = u8(qh + l), lo = u8(ql + l), hi = u8(ql + l + 32);
                    u[base + l] = (byte) ((lo & 0xF) | (hb & 3) << 4);
                    u[base + 32 + l] = (byte) ((hi & 0xF) | (hb >> 2 & 3) << 4);
                    u[base + 64 + l] = (byte) ((lo >> 4) | (hb >> 4 & 3) << 4);
                    u[base + 96 + l] = (byte) ((hi >> 4) | (hb >> 6 & 3) << 4);
                }
            }
            for (int g = 0; g < 16; g++) {
                scale[e0 / 16 + g] = raw[192 + g];
                min[e0 / 16 + g] = 32 * raw[192 + g];
            }
        }
    }

    /** Decoded row {@code w} times token {@code x} (super-blocks from {@code xSuper0}), by the contract above. */
    static float dot(GgmlType type, Row w, Q8KActivation x, int xSuper0) {
        boolean q6 = type == GgmlType.Q6_K;
        float acc = 0f;
        byte[] u = w.u, xq = x.q;
        for (int b = 0; b < w.d.length; b++) {
            int xb = xSuper0 + b, isum = 0, imin = 0;
            for (int g = 0; g < 16; g++) {
                int e = b * QK_K + 16 * g, xe = xb * QK_K + 16 * g, s = 0;
                for (int i = 0; i < 16; i++) s += u[e + i] * xq[xe + i];
                isum += w.scale[b * 16 + g] * s;
                imin += w.min[b * 16 + g] * x.bsums[xb * 16 + g];
            }
            float dx = x.d[xb];
            if (q6) {
                acc = Math.fma((float) (isum - imin), w.d[b] * dx, acc);
            } else {
                acc = Math.fma((float) isum, w.d[b] * dx, acc);
                acc = Math.fma((float) -imin, w.dmin[b] * dx, acc);
            }
        }
        return acc;
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
