package dev.loracle.runtime.lora;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * LoRA arithmetic: the exact composite merge and the unmerged (low-rank at run time) product.
 * <p>
 * The merge computes {@code W += Bc @ Ac} where Ac stacks every delta's A ([R x in], R = sum of ranks) and Bc stacks
 * the matching columns {@code w_i s_i B_i} ([out x R]): the exact sum of the deltas as one rank-R product, not PEFT's
 * approximate combination of A and B matrices. The product is a register-blocked GEMM (4 rows x 2 vectors of
 * accumulators over packed A panels that stay in L1), parallel over column panels. The delta of each element is
 * accumulated from zero and added to W once, so W's own magnitude does not cost the delta precision.
 */
public final class LoraMath {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Rows of W per micro-tile. */
    private static final int MR = 4;
    /** Columns of W per panel (two vectors). */
    private static final int NR = 2 * L;
    /** Below this many multiply-adds a merge runs on the calling thread only. */
    private static final long PARALLEL_THRESHOLD = 1L << 20;

    private static final ExecutorService POOL = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "lora-merge");
        t.setDaemon(true);
        return t;
    });

    private LoraMath() {}

    /** A target with its adapter's weight w_i; the delta added is {@code weight * target.scale() * B @ A}. */
    public record WeightedTarget(LoraTarget target, float weight) {
        public WeightedTarget {
            Objects.requireNonNull(target, "target");
            if (!Float.isFinite(weight)) {
                throw new IllegalArgumentException("weight must be finite, got " + weight + " for " + target.describe());
            }
        }
    }

    /** Merges with one thread per available processor. */
    public static void addComposite(MemorySegment w, int out, int in, List<WeightedTarget> deltas) {
        addComposite(w, out, in, deltas, Runtime.getRuntime().availableProcessors());
    }

    /**
     * W[out x in] (row-major F32 little-endian, in place) += sum_i w_i s_i B_i @ A_i.
     *
     * @param w       a writable segment of exactly out * in floats: native, or heap-backed by float[] or byte[]
     * @param threads the most threads to use (the caller's included)
     */
    public static void addComposite(MemorySegment w, int out, int in, List<WeightedTarget> deltas, int threads) {
        Objects.requireNonNull(w, "w");
        if (w.byteSize() != (long) out * in * Float.BYTES) {
            throw new IllegalArgumentException("W has " + w.byteSize() + " bytes, expected [" + out + " x " + in
                    + "] F32 = " + (long) out * in * Float.BYTES);
        }
        if (w.isReadOnly()) {
            throw new IllegalArgumentException("W is read-only: merge into a working copy, never into the base");
        }
        if (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN && w.heapBase().orElse(null) instanceof float[] arr) {
            long offset = w.address();
            merge(arr, (int) (offset / Float.BYTES), null, out, in, deltas, threads);
        } else {
            merge(null, 0, w, out, in, deltas, threads);
        }
    }

    /** Merges into a float array holding W[out x in] row-major, one thread per available processor. */
    public static void addComposite(float[] w, int out, int in, List<WeightedTarget> deltas) {
        addComposite(w, out, in, deltas, Runtime.getRuntime().availableProcessors());
    }

    /** Merges into a float array holding W[out x in] row-major. */
    public static void addComposite(float[] w, int out, int in, List<WeightedTarget> deltas, int threads) {
        Objects.requireNonNull(w, "w");
        if (w.length != (long) out * in) {
            throw new IllegalArgumentException("W has " + w.length + " floats, expected [" + out + " x " + in + "] = "
                    + (long) out * in);
        }
        merge(w, 0, null, out, in, deltas, threads);
    }

    /**
     * y[out] += sum_i w_i s_i B_i (A_i x): the UNMERGED path, single-threaded, no allocation.
     *
     * @param scratch at least the largest rank of the deltas
     */
    public static void applyUnmerged(float[] x, float[] y, List<WeightedTarget> deltas, float[] scratch) {
        for (int d = 0; d < deltas.size(); d++) {
            WeightedTarget wt = deltas.get(d);
            LoraTarget t = wt.target();
            if (x.length < t.in() || y.length < t.out() || scratch.length < t.rank()) {
                throw new IllegalArgumentException("unmerged LoRA of " + t.describe() + " needs x >= " + t.in()
                        + ", y >= " + t.out() + ", scratch >= " + t.rank() + " floats; got " + x.length + ", "
                        + y.length + ", " + scratch.length);
            }
            float c = wt.weight() * t.scale();
            if (c == 0f) {
                continue;
            }
            int rank = t.rank();
            int in = t.in();
            MemorySegment a = t.a();
            boolean vectorA = vectorReadable(a);
            for (int j = 0; j < rank; j++) {
                long rowBytes = (long) j * in * Float.BYTES;
                float sum;
                if (vectorA) {
                    FloatVector acc = FloatVector.zero(S);
                    int i = 0;
                    for (int upper = S.loopBound(in); i < upper; i += L) {
                        FloatVector av = FloatVector.fromMemorySegment(S, a, rowBytes + (long) i * Float.BYTES,
                                ByteOrder.LITTLE_ENDIAN);
                        acc = av.fma(FloatVector.fromArray(S, x, i), acc);
                    }
                    sum = acc.reduceLanes(VectorOperators.ADD);
                    for (; i < in; i++) {
                        sum += t.aAt(j, i) * x[i];
                    }
                } else {
                    sum = 0f;
                    for (int i = 0; i < in; i++) {
                        sum += t.aAt(j, i) * x[i];
                    }
                }
                scratch[j] = sum * c;
            }
            // Four rows at a time: independent scalar chains beat a horizontal vector reduction per row
            // (ranks are small, so a row of B is at most a vector or two).
            MemorySegment b = t.b();
            int out = t.out();
            int r = 0;
            for (; r + 4 <= out; r += 4) {
                long b0 = (long) r * rank;
                long b1 = b0 + rank;
                long b2 = b1 + rank;
                long b3 = b2 + rank;
                float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
                for (int j = 0; j < rank; j++) {
                    float tj = scratch[j];
                    s0 += b.getAtIndex(LoraTarget.F32, b0 + j) * tj;
                    s1 += b.getAtIndex(LoraTarget.F32, b1 + j) * tj;
                    s2 += b.getAtIndex(LoraTarget.F32, b2 + j) * tj;
                    s3 += b.getAtIndex(LoraTarget.F32, b3 + j) * tj;
                }
                y[r] += s0;
                y[r + 1] += s1;
                y[r + 2] += s2;
                y[r + 3] += s3;
            }
            for (; r < out; r++) {
                long base = (long) r * rank;
                float sum = 0f;
                for (int j = 0; j < rank; j++) {
                    sum += b.getAtIndex(LoraTarget.F32, base + j) * scratch[j];
                }
                y[r] += sum;
            }
        }
    }

    /**
     * The deltas of one tensor prepared once for the unmerged path (at attach time): A rows stacked ([R x in]) and the
     * B columns transposed and pre-scaled by w_i s_i ([R x out]), so that each decode step is R dot products and R
     * vector axpys with no horizontal reductions over B. Heap copies: {@link #bytes()} is what to account for it.
     */
    public static final class UnmergedDelta {
        private final float[] ac;
        private final float[] bct;
        private final int rankSum;
        private final int in;
        private final int out;

        private UnmergedDelta(float[] ac, float[] bct, int rankSum, int in, int out) {
            this.ac = ac;
            this.bct = bct;
            this.rankSum = rankSum;
            this.in = in;
            this.out = out;
        }

        /** Sum of the ranks of the live deltas (the scratch size {@link #apply} needs). */
        public int rankSum() { return rankSum; }

        public int in() { return in; }

        public int out() { return out; }

        /** Bytes held by the prepared copies. */
        public long bytes() { return ((long) ac.length + bct.length) * Float.BYTES; }

        /** y[out] += sum_i w_i s_i B_i (A_i x); single-threaded, no allocation. */
        public void apply(float[] x, float[] y, float[] scratch) {
            if (x.length < in || y.length < out || scratch.length < rankSum) {
                throw new IllegalArgumentException("unmerged LoRA needs x >= " + in + ", y >= " + out + ", scratch >= "
                        + rankSum + " floats; got " + x.length + ", " + y.length + ", " + scratch.length);
            }
            int inBound = S.loopBound(in);
            for (int k = 0; k < rankSum; k++) {
                int row = k * in;
                FloatVector acc = FloatVector.zero(S);
                int i = 0;
                for (; i < inBound; i += L) {
                    acc = FloatVector.fromArray(S, ac, row + i).fma(FloatVector.fromArray(S, x, i), acc);
                }
                float sum = acc.reduceLanes(VectorOperators.ADD);
                for (; i < in; i++) {
                    sum += ac[row + i] * x[i];
                }
                scratch[k] = sum;
            }
            int outBound = S.loopBound(out);
            for (int k = 0; k < rankSum; k++) {
                int row = k * out;
                float t = scratch[k];
                if (t == 0f) {
                    continue;
                }
                FloatVector tv = FloatVector.broadcast(S, t);
                int o = 0;
                for (; o < outBound; o += L) {
                    FloatVector.fromArray(S, bct, row + o).fma(tv, FloatVector.fromArray(S, y, o)).intoArray(y, o);
                }
                for (; o < out; o++) {
                    y[o] += bct[row + o] * t;
                }
            }
        }
    }

    /**
     * Prepares the deltas of one [out x in] tensor for {@link UnmergedDelta#apply}; same result as
     * {@link #applyUnmerged} up to float rounding order.
     */
    public static UnmergedDelta prepareUnmerged(int out, int in, List<WeightedTarget> deltas) {
        int rankSum = 0;
        for (WeightedTarget wt : deltas) {
            LoraTarget t = wt.target();
            if (t.out() != out || t.in() != in) {
                throw new IllegalArgumentException("delta " + t.describe() + " is [" + t.out() + " x " + t.in()
                        + "] but the tensor is [" + out + " x " + in + "]");
            }
            rankSum += t.rank();
        }
        float[] ac = new float[Math.multiplyExact(rankSum, in)];
        float[] bct = new float[Math.multiplyExact(rankSum, out)];
        int k0 = 0;
        for (WeightedTarget wt : deltas) {
            LoraTarget t = wt.target();
            int rank = t.rank();
            float c = wt.weight() * t.scale();
            MemorySegment.copy(t.a(), LoraTarget.F32, 0, ac, k0 * in, rank * in);
            float[] b = t.b().toArray(LoraTarget.F32);
            for (int o = 0; o < out; o++) {
                for (int j = 0; j < rank; j++) {
                    bct[(k0 + j) * out + o] = b[o * rank + j] * c;
                }
            }
            k0 += rank;
        }
        return new UnmergedDelta(ac, bct, rankSum, in, out);
    }

    // ------------------------------------------------------------------------------------------------ merge

    private static boolean vectorReadable(MemorySegment s) {
        return s.isNative() || s.heapBase().orElse(null) instanceof byte[];
    }

    /**
     * The deltas of one [out x in] tensor packed once for a merge done a few rows at a time (so that a caller can
     * dequantize, merge and requantize a block of rows while it is in cache). Every element gets exactly the value
     * {@link #addComposite} would give it, whatever the row blocks.
     */
    public static final class RowMerger {
        private final Packed p;

        private RowMerger(Packed p) {
            this.p = p;
        }

        /**
         * Rows [rowFrom, rowTo) of W += their delta rows; {@code w[wOff + (r - rowFrom) * in + c]} holds W[r][c].
         * Meant for blocks that fit in L2 (W is walked once per panel of columns).
         */
        public void addRows(float[] w, int wOff, int rowFrom, int rowTo) {
            Objects.requireNonNull(w, "w");
            if (rowFrom < 0 || rowTo > p.out || rowFrom > rowTo) {
                throw new IllegalArgumentException("rows [" + rowFrom + ", " + rowTo + ") are outside [0, " + p.out + ")");
            }
            if (wOff < 0 || (long) wOff + (long) (rowTo - rowFrom) * p.in > w.length) {
                throw new IllegalArgumentException("w has " + w.length + " floats, rows [" + rowFrom + ", " + rowTo
                        + ") of " + p.in + " from " + wOff + " do not fit");
            }
            mergeBlockPanelOuter(p, w, wOff - rowFrom * p.in, rowFrom, rowTo);
        }
    }

    /** Packs the live deltas of an [out x in] tensor for {@link RowMerger#addRows}; null when none is live. */
    public static RowMerger rowMerger(int out, int in, List<WeightedTarget> deltas) {
        Packed p = packLive(out, in, deltas);
        return p == null ? null : new RowMerger(p);
    }

    /** Checks the deltas against [out x in] and packs those with a non-zero weight; null when none is. */
    private static Packed packLive(int out, int in, List<WeightedTarget> deltas) {
        Objects.requireNonNull(deltas, "deltas");
        int rankSum = 0;
        List<WeightedTarget> live = new ArrayList<>(deltas.size());
        for (WeightedTarget wt : deltas) {
            LoraTarget t = wt.target();
            if (t.out() != out || t.in() != in) {
                throw new IllegalArgumentException("delta " + t.describe() + " is [" + t.out() + " x " + t.in()
                        + "] but W is [" + out + " x " + in + "]");
            }
            if (wt.weight() * t.scale() != 0f) {
                live.add(wt);
                rankSum += t.rank();
            }
        }
        return live.isEmpty() ? null : pack(live, out, in, rankSum);
    }

    /** W is either {@code wa} (from float index {@code wOff}) or {@code ws}. */
    private static void merge(float[] wa, int wOff, MemorySegment ws, int out, int in, List<WeightedTarget> deltas,
                              int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        Packed p = packLive(out, in, deltas);
        if (p == null) {
            return;
        }
        int rankSum = p.rankSum;
        int blocks = (out + MR - 1) / MR;
        long work = (long) out * in * rankSum;
        int n = (int) Math.max(1, Math.min(Math.min(threads, blocks), work < PARALLEL_THRESHOLD ? 1 : threads));
        if (n == 1) {
            mergeRows(p, wa, wOff, ws, 0, out);
            return;
        }
        List<Future<?>> futures = new ArrayList<>(n - 1);
        for (int i = 1; i < n; i++) {
            int from = Math.min(out, (int) ((long) blocks * i / n) * MR);
            int to = Math.min(out, (int) ((long) blocks * (i + 1) / n) * MR);
            futures.add(POOL.submit(() -> mergeRows(p, wa, wOff, ws, from, to)));
        }
        Throwable failure = null;
        try {
            mergeRows(p, wa, wOff, ws, 0, Math.min(out, (int) ((long) blocks / n) * MR));
        } catch (RuntimeException | Error e) {
            failure = e;
        }
        boolean interrupted = false;
        for (Future<?> f : futures) {
            while (true) {
                try {
                    f.get();
                    break;
                } catch (InterruptedException e) {
                    // The workers write into W: return only once they are done, then restore the flag.
                    interrupted = true;
                } catch (ExecutionException e) {
                    if (failure == null) {
                        failure = e.getCause();
                    }
                    break;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (failure instanceof RuntimeException re) {
            throw re;
        }
        if (failure instanceof Error err) {
            throw err;
        }
    }

    /**
     * Bc [out x R] (scaled B columns), Ac [R x in] (stacked A rows) and Ap, the full NR-column panels of Ac laid out
     * panel by panel ([panel][k][NR]) so that the micro-kernel reads one contiguous block per panel.
     */
    private record Packed(float[] bc, float[] ac, float[] ap, int fullPanels, int out, int in, int rankSum) {}

    private static Packed pack(List<WeightedTarget> live, int out, int in, int rankSum) {
        float[] bc = new float[Math.multiplyExact(out, rankSum)];
        float[] ac = new float[Math.multiplyExact(rankSum, in)];
        int k0 = 0;
        for (WeightedTarget wt : live) {
            LoraTarget t = wt.target();
            int rank = t.rank();
            float c = wt.weight() * t.scale();
            MemorySegment.copy(t.a(), LoraTarget.F32, 0, ac, k0 * in, rank * in);
            float[] b = t.b().toArray(LoraTarget.F32);
            for (int r = 0; r < out; r++) {
                int dst = r * rankSum + k0;
                int src = r * rank;
                for (int j = 0; j < rank; j++) {
                    bc[dst + j] = b[src + j] * c;
                }
            }
            k0 += rank;
        }
        int fullPanels = in / NR;
        float[] ap = new float[Math.multiplyExact(fullPanels * NR, rankSum)];
        for (int panel = 0; panel < fullPanels; panel++) {
            int base = panel * rankSum * NR;
            for (int k = 0; k < rankSum; k++) {
                System.arraycopy(ac, k * in + panel * NR, ap, base + k * NR, NR);
            }
        }
        return new Packed(bc, ac, ap, fullPanels, out, in, rankSum);
    }

    /** Rows [rowFrom, rowTo) of W, in blocks of MR rows across every panel (W is streamed row by row). */
    private static void mergeRows(Packed p, float[] wa, int wOff, MemorySegment ws, int rowFrom, int rowTo) {
        int in = p.in;
        int r = rowFrom;
        for (; r + MR <= rowTo; r += MR) {
            mergeTiles(p, wa, wOff, ws, r, r + MR, 0, p.fullPanels);
            if (p.fullPanels * NR < in) {
                mergeScalar(p, wa, wOff, ws, r, r + MR, p.fullPanels * NR, in);
            }
        }
        if (r < rowTo) {
            mergeScalar(p, wa, wOff, ws, r, rowTo, 0, in);
        }
    }

    /**
     * Rows [rowFrom, rowTo) of a block of W that stays in cache, panel by panel (each packed A panel is read from L1
     * for every row group); the elements get the same values as from {@link #mergeRows}.
     */
    private static void mergeBlockPanelOuter(Packed p, float[] wa, int wOff, int rowFrom, int rowTo) {
        int in = p.in;
        int rEnd = rowFrom + (rowTo - rowFrom) / MR * MR;
        if (rEnd > rowFrom) {
            for (int panel = 0; panel < p.fullPanels; panel++) {
                mergeTiles(p, wa, wOff, null, rowFrom, rEnd, panel, panel + 1);
            }
            if (p.fullPanels * NR < in) {
                mergeScalar(p, wa, wOff, null, rowFrom, rEnd, p.fullPanels * NR, in);
            }
        }
        if (rEnd < rowTo) {
            mergeScalar(p, wa, wOff, null, rEnd, rowTo, 0, in);
        }
    }

    /** Full MR x NR tiles: rows [rowFrom, rowTo) (a multiple of MR of them) by panels [panelFrom, panelTo). */
    private static void mergeTiles(Packed p, float[] wa, int wOff, MemorySegment ws, int rowFrom, int rowTo,
                                   int panelFrom, int panelTo) {
        int in = p.in;
        int rs = p.rankSum;
        float[] bc = p.bc;
        float[] ap = p.ap;
        for (int r = rowFrom; r + MR <= rowTo; r += MR) {
            int b0 = r * rs;
            int b1 = b0 + rs;
            int b2 = b1 + rs;
            int b3 = b2 + rs;
            for (int panel = panelFrom; panel < panelTo; panel++) {
                int pa = panel * rs * NR;
                FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
                FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
                FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
                FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
                for (int k = 0; k < rs; k++) {
                    int ak = pa + k * NR;
                    FloatVector a0 = FloatVector.fromArray(S, ap, ak);
                    FloatVector a1 = FloatVector.fromArray(S, ap, ak + L);
                    FloatVector x0 = FloatVector.broadcast(S, bc[b0 + k]);
                    c00 = a0.fma(x0, c00);
                    c01 = a1.fma(x0, c01);
                    FloatVector x1 = FloatVector.broadcast(S, bc[b1 + k]);
                    c10 = a0.fma(x1, c10);
                    c11 = a1.fma(x1, c11);
                    FloatVector x2 = FloatVector.broadcast(S, bc[b2 + k]);
                    c20 = a0.fma(x2, c20);
                    c21 = a1.fma(x2, c21);
                    FloatVector x3 = FloatVector.broadcast(S, bc[b3 + k]);
                    c30 = a0.fma(x3, c30);
                    c31 = a1.fma(x3, c31);
                }
                long e0 = (long) r * in + panel * NR;
                addRow(wa, wOff, ws, e0, c00, c01);
                addRow(wa, wOff, ws, e0 + in, c10, c11);
                addRow(wa, wOff, ws, e0 + 2L * in, c20, c21);
                addRow(wa, wOff, ws, e0 + 3L * in, c30, c31);
            }
        }
    }

    /** W[e .. e + NR) += (v0, v1), e being an element index of W. */
    private static void addRow(float[] wa, int wOff, MemorySegment ws, long e, FloatVector v0, FloatVector v1) {
        if (wa != null) {
            int i = wOff + (int) e;
            FloatVector.fromArray(S, wa, i).add(v0).intoArray(wa, i);
            FloatVector.fromArray(S, wa, i + L).add(v1).intoArray(wa, i + L);
        } else {
            long o = e * Float.BYTES;
            FloatVector.fromMemorySegment(S, ws, o, ByteOrder.LITTLE_ENDIAN).add(v0)
                    .intoMemorySegment(ws, o, ByteOrder.LITTLE_ENDIAN);
            long o1 = o + (long) L * Float.BYTES;
            FloatVector.fromMemorySegment(S, ws, o1, ByteOrder.LITTLE_ENDIAN).add(v1)
                    .intoMemorySegment(ws, o1, ByteOrder.LITTLE_ENDIAN);
        }
    }

    /** Edges (rows below a multiple of 4, columns of a last partial panel), one element at a time. */
    private static void mergeScalar(Packed p, float[] wa, int wOff, MemorySegment ws, int rowFrom, int rowTo,
                                    int colFrom, int colTo) {
        int rs = p.rankSum;
        int in = p.in;
        for (int r = rowFrom; r < rowTo; r++) {
            for (int c = colFrom; c < colTo; c++) {
                float sum = 0f;
                for (int k = 0; k < rs; k++) {
                    sum = Math.fma(p.bc[r * rs + k], p.ac[k * in + c], sum);
                }
                long e = (long) r * in + c;
                if (wa != null) {
                    wa[wOff + (int) e] += sum;
                } else {
                    ws.setAtIndex(LoraTarget.F32, e, ws.getAtIndex(LoraTarget.F32, e) + sum);
                }
            }
        }
    }
}
