package dev.loracle.runtime.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;

/**
 * Batched products {@code Y = X W^T} for n tokens at once (a step of the batched engine): {@code x} holds n rows of
 * {@code cols} values (token t at {@code t*cols}), {@code y} n rows of {@code w.rows()} values (token t at
 * {@code t*rows}). Each weight row is read from memory once per call and reused for every token while it sits in
 * L1; FLOAT mode also decodes each quantized block once per row tile instead of once per token.
 * <p>
 * Batch invariance: {@code y[t*rows + r]} is bit-identical to {@link MatVec#dotRow} of row r with token t alone,
 * whatever n, the thread count or the row tiling. Every kernel here performs, per output element, exactly the
 * lane-wise multiply-adds and the final lane reduction of the single-token kernel; tiling only changes which
 * elements are computed side by side, never the order of one element's reduction (no split-K).
 * <p>
 * K-quant weights (Q4_K, Q5_K, Q6_K) in INT8 mode multiply activations quantized to Q8_K ({@link KQuantDot}'s
 * contract, native or Java); Q8_0/Q4_0 weights activations quantized to Q8_0. A group of tensors with mixed types
 * (q/k/v where one is a merged Q8_0 copy) gets both.
 */
public final class MatMul {
    private MatMul() {}

    /** Rows decoded and multiplied together in FLOAT mode: x is loaded once per token for this many rows. */
    private static final int ROW_TILE = 4;
    private static final int PARALLEL_GRAIN_ELEMENTS = 1 << 14;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final int L = MatVec.L;
    /** Offsets inside a 32-value block in the order MatVec's single-token kernels multiply them. */
    private static final int[] Q8_ORDER = blockOrder(false), Q4_ORDER = blockOrder(true);

    private static int[] blockOrder(boolean q4) {
        int[] o = new int[32 / L];
        for (int k = 0; k < o.length; k++) {
            // Q8_0: consecutive lanes; Q4_0: low-nibble part p (elements p*L..), then high-nibble part p (16 + p*L..)
            o[k] = q4 ? (k % 2 == 0 ? (k / 2) * L : 16 + (k / 2) * L) : k * L;
        }
        return o;
    }

    /** x quantized the ways the weights of one call need (INT8 mode); fields null where not needed. */
    record Quantized(Q8Activation q8, Q8KActivation q8k) {
        static final Quantized NONE = new Quantized(null, null);
    }

    /** {@code y[t*rows + r] = W[r,:] . x[t*cols ..]} for t < n; INT8 mode quantizes x itself. */
    public static void matmul(ParallelRunner pool, QuantizedTensor w, float[] x, int n, float[] y, MatVec.DotMode mode) {
        int rows = checkShapes(w, x, n, y);
        Quantized xq = quantizeFor(pool, mode, new QuantizedTensor[] {w}, x, n);
        pool.forRange(rows, grain(w, n, 1), (s, e) -> rowsTimesTokens(w, s, e, x, xq, n, y, rows, 0, mode));
    }

    /** As {@link #matmul(ParallelRunner, QuantizedTensor, float[], int, float[], MatVec.DotMode)} with x already quantized to Q8_0 (INT8 mode; may be null). */
    public static void matmul(ParallelRunner pool, QuantizedTensor w, float[] x, Q8Activation xq, int n, float[] y, MatVec.DotMode mode) {
        int rows = checkShapes(w, x, n, y);
        pool.forRange(rows, grain(w, n, 1), (s, e) -> rowsTimesTokens(w, s, e, x, xq, n, y, mode));
    }

    /** Several products with the same x (q, k, v) in one parallel region; {@code ys[i]} receives {@code ws[i]}'s rows. */
    public static void matmulMany(ParallelRunner pool, QuantizedTensor[] ws, float[] x, int n, float[][] ys, MatVec.DotMode mode) {
        if (ws.length != ys.length) throw new IllegalArgumentException(ws.length + " tensors but " + ys.length + " outputs");
        int[] starts = new int[ws.length + 1];
        for (int i = 0; i < ws.length; i++) {
            if (ws[i].cols() != ws[0].cols()) throw new IllegalArgumentException(ws[i] + " and " + ws[0] + " differ in row length");
            starts[i + 1] = starts[i] + checkShapes(ws[i], x, n, ys[i]);
        }
        Quantized xq = quantizeFor(pool, mode, ws, x, n);
        pool.forRange(starts[ws.length], grain(ws[0], n, 1), (s, e) -> {
            for (int i = 0; i < ws.length; i++) {
                int from = Math.max(s, starts[i]), to = Math.min(e, starts[i + 1]);
                if (from < to) rowsTimesTokens(ws[i], from - starts[i], to - starts[i], x, xq, n, ys[i], Math.toIntExact(ws[i].rows()), 0, mode);
            }
        });
    }

    /**
     * SwiGLU's first half for n tokens: {@code y[t*rows + r] = silu(Wg[r,:] . x_t) * (Wu[r,:] . x_t)}, the same bits as
     * {@link MatVec#matmulSwiGlu} for each token alone.
     */
    public static void matmulSwiGlu(ParallelRunner pool, QuantizedTensor wg, QuantizedTensor wu, float[] x, int n, float[] y,
                                    MatVec.DotMode mode) {
        if (wg.rows() != wu.rows() || wg.cols() != wu.cols()) {
            throw new IllegalArgumentException("gate " + wg + " and up " + wu + " differ in shape");
        }
        int rows = checkShapes(wg, x, n, y);
        Quantized xq = quantizeFor(pool, mode, new QuantizedTensor[] {wg, wu}, x, n);
        pool.forRange(rows, grain(wg, n, 2), (s, e) -> {
            int m = e - s;
            float[] g = new float[m * n], u = new float[m * n];
            rowsTimesTokens(wg, s, e, x, xq, n, g, m, -s, mode);
            rowsTimesTokens(wu, s, e, x, xq, n, u, m, -s, mode);
            for (int t = 0; t < n; t++) {
                for (int r = 0; r < m; r++) y[t * rows + s + r] = MatVec.silu(g[t * m + r]) * u[t * m + r];
            }
        });
    }

    private static int checkShapes(QuantizedTensor w, float[] x, int n, float[] y) {
        if (n < 1) throw new IllegalArgumentException("token count must be >= 1, got " + n);
        int rows = Math.toIntExact(w.rows()), cols = Math.toIntExact(w.cols());
        if (x.length < (long) n * cols) throw new IllegalArgumentException("x holds " + x.length + " values, " + n + " tokens of " + w + " need " + (long) n * cols);
        if (y.length < (long) n * rows) throw new IllegalArgumentException("y holds " + y.length + " values, " + n + " tokens of " + w + " need " + (long) n * rows);
        return rows;
    }

    private static int grain(QuantizedTensor w, int n, int tensors) {
        return (int) Math.max(1, PARALLEL_GRAIN_ELEMENTS / Math.max(1, (long) tensors * n * w.cols()));
    }

    /** x quantized to Q8_0 blocks if a tensor of {@code ws} is Q8_0/Q4_0, to Q8_K if one is a K-quant (INT8 mode only). */
    private static Quantized quantizeFor(ParallelRunner pool, MatVec.DotMode mode, QuantizedTensor[] ws, float[] x, int n) {
        if (mode != MatVec.DotMode.INT8) return Quantized.NONE;
        boolean q8 = false, q8k = false;
        for (QuantizedTensor w : ws) {
            q8 |= w.type().quantized() && !w.type().kQuant();
            q8k |= w.type().kQuant();
        }
        int len = Math.multiplyExact(n, Math.toIntExact(ws[0].cols())); // cols % block == 0: blocks never straddle two tokens
        return new Quantized(q8 ? new Q8Activation(len).quantize(pool, x, len) : null,
                q8k ? new Q8KActivation(len).quantize(pool, x, len) : null);
    }

    /** Rows [r0, r1) for all n tokens into {@code y[t*rows + r]}; K-quant weights quantize x to Q8_K here (INT8 mode). */
    static void rowsTimesTokens(QuantizedTensor w, int r0, int r1, float[] x, Q8Activation xq, int n, float[] y, MatVec.DotMode mode) {
        rowsTimesTokens(w, r0, r1, x, withQ8K(w, x, xq, n, mode), n, y, Math.toIntExact(w.rows()), 0, mode);
    }

    /** {@code xq} plus, for a K-quant {@code w} in INT8 mode, x's n tokens quantized to Q8_K. */
    static Quantized withQ8K(QuantizedTensor w, float[] x, Q8Activation xq, int n, MatVec.DotMode mode) {
        if (mode != MatVec.DotMode.INT8 || !w.type().kQuant()) return new Quantized(xq, null);
        int len = n * Math.toIntExact(w.cols());
        return new Quantized(xq, new Q8KActivation(len).quantize(x, len));
    }

    /** Rows [r0, r1) for all n tokens into {@code y[t*yStride + r + yShift]}. */
    static void rowsTimesTokens(QuantizedTensor w, int r0, int r1, float[] x, Quantized xqs, int n, float[] y, int yStride,
                                int yShift, MatVec.DotMode mode) {
        int cols = Math.toIntExact(w.cols());
        long rb = w.rowBytes();
        MemorySegment seg = w.data();
        GgmlType type = w.type();
        if (type.kQuant()) {
            kQuantRows(w, r0, r1, x, xqs.q8k(), n, y, yStride, yShift, mode);
            return;
        }
        Q8Activation xq = xqs.q8();
        boolean int8 = mode == MatVec.DotMode.INT8 && xq != null && type.quantized();
        if (int8 && NativeKernels.available()) {
            NativeKernels.int8(w, r0, r1, xq, n, y, yStride, yShift);
            return;
        }
        if (int8 || n == 1 || !type.quantized()) {
            int nb = cols / 32;
            for (int r = r0; r < r1; r++) {
                long off = r * rb;
                for (int t = 0; t < n; t++) {
                    int xo = t * cols;
                    y[t * yStride + r + yShift] = switch (type) {
                        case F32 -> MatVec.dotF32(seg, off, x, xo, cols);
                        case F16 -> MatVec.dotF16(seg, off, x, xo, cols);
                        case Q8_0 -> int8 ? MatVec.dotQ8_0Int(seg, off, xq, t * nb, cols) : MatVec.dotQ8_0(seg, off, x, xo, cols);
                        case Q4_0 -> int8 ? MatVec.dotQ4_0Int(seg, off, xq, t * nb, cols) : MatVec.dotQ4_0(seg, off, x, xo, cols);
                        default -> throw new IllegalArgumentException("no kernel for " + type);
                    };
                }
            }
            return;
        }
        floatTiles(w, r0, r1, x, n, y, yStride, yShift);
    }

    private static void kQuantRows(QuantizedTensor w, int r0, int r1, float[] x, Q8KActivation xk, int n, float[] y, int yStride,
                                   int yShift, MatVec.DotMode mode) {
        if (mode != MatVec.DotMode.INT8) {
            KQuantDot.floatRows(w, r0, r1, x, n, y, yStride, yShift);
        } else if (NativeKernels.available()) {
            NativeKernels.kQuant(w, r0, r1, xk, n, y, yStride, yShift);
        } else {
            KQuantDot.rows(w, r0, r1, xk, n, y, yStride, yShift);
        }
    }

    /** FLOAT mode, quantized weights, several tokens: decode ROW_TILE rows once, then multiply them with every token. */
    private static void floatTiles(QuantizedTensor w, int r0, int r1, float[] x, int n, float[] y, int yStride, int yShift) {
        int cols = Math.toIntExact(w.cols()), nb = cols / 32;
        boolean q4 = w.type() == GgmlType.Q4_0;
        if (!q4 && w.type() != GgmlType.Q8_0) throw new IllegalArgumentException("no kernel for " + w.type());
        int[] order = q4 ? Q4_ORDER : Q8_ORDER;
        float[] ws = new float[ROW_TILE * cols], ds = new float[ROW_TILE * nb];
        int r = r0;
        for (; r + ROW_TILE <= r1; r += ROW_TILE) {
            for (int k = 0; k < ROW_TILE; k++) decodeUnscaled(w, r + k, ws, k * cols, ds, k * nb, q4);
            for (int t = 0; t < n; t++) tile4(ws, ds, cols, nb, order, x, t * cols, y, t * yStride + r + yShift);
        }
        for (; r < r1; r++) { // fewer than ROW_TILE rows left: the single-token kernel, same bits
            long off = r * w.rowBytes();
            for (int t = 0; t < n; t++) {
                y[t * yStride + r + yShift] = q4 ? MatVec.dotQ4_0(w.data(), off, x, t * cols, cols) : MatVec.dotQ8_0(w.data(), off, x, t * cols, cols);
            }
        }
    }

    /** Row {@code row}'s integer weights as floats in element order (exactly the B2F values MatVec uses) and its block scales. */
    private static void decodeUnscaled(QuantizedTensor w, int row, float[] ws, int wo, float[] ds, int dOff, boolean q4) {
        MemorySegment seg = w.data();
        long off = row * w.rowBytes();
        int nb = (int) (w.cols() / 32);
        for (int b = 0; b < nb; b++) {
            long o = off + (q4 ? 18L : 34L) * b;
            ds[dOff + b] = Float.float16ToFloat(seg.get(I16, o));
            int base = wo + b * 32;
            if (q4) {
                for (int j = 0; j < 16; j++) {
                    int q = seg.get(ValueLayout.JAVA_BYTE, o + 2 + j) & 0xFF;
                    ws[base + j] = (q & 0x0F) - 8;
                    ws[base + 16 + j] = (q >>> 4) - 8;
                }
            } else {
                for (int j = 0; j < 32; j++) ws[base + j] = seg.get(ValueLayout.JAVA_BYTE, o + 2 + j);
            }
        }
    }

    /** Four decoded rows times one token: per row the multiply-adds of MatVec.dotQ8_0/dotQ4_0 in the same order. */
    private static void tile4(float[] ws, float[] ds, int cols, int nb, int[] order, float[] x, int xo, float[] y, int yi) {
        var sp = MatVec.F;
        FloatVector a0 = FloatVector.zero(sp), a1 = a0, a2 = a0, a3 = a0;
        for (int b = 0; b < nb; b++) {
            FloatVector b0 = FloatVector.zero(sp), b1 = b0, b2 = b0, b3 = b0;
            int base = b * 32;
            for (int o : order) {
                int i = base + o;
                FloatVector xv = FloatVector.fromArray(sp, x, xo + i);
                b0 = FloatVector.fromArray(sp, ws, i).fma(xv, b0);
                b1 = FloatVector.fromArray(sp, ws, cols + i).fma(xv, b1);
                b2 = FloatVector.fromArray(sp, ws, 2 * cols + i).fma(xv, b2);
                b3 = FloatVector.fromArray(sp, ws, 3 * cols + i).fma(xv, b3);
            }
            a0 = b0.fma(FloatVector.broadcast(sp, ds[b]), a0);
            a1 = b1.fma(FloatVector.broadcast(sp, ds[nb + b]), a1);
            a2 = b2.fma(FloatVector.broadcast(sp, ds[2 * nb + b]), a2);
            a3 = b3.fma(FloatVector.broadcast(sp, ds[3 * nb + b]), a3);
        }
        y[yi] = MatVec.sumLanes(a0);
        y[yi + 1] = MatVec.sumLanes(a1);
        y[yi + 2] = MatVec.sumLanes(a2);
        y[yi + 3] = MatVec.sumLanes(a3);
    }
}
