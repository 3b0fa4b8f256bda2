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
import jdk.incubator.vector.VectorSpecies;

/**
 * LoRA arithmetic: the exact composite merge (the unmerged product runs in the backends, per step).
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

    // ------------------------------------------------------------------------------------------------ merge

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
