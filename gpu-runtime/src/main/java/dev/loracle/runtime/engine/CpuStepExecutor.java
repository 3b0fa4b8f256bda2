package dev.loracle.runtime.engine;

import dev.loracle.runtime.engine.AdapterBinding.LowRank;
import dev.loracle.runtime.engine.AdapterBinding.LowRankMember;
import dev.loracle.runtime.engine.AdapterBinding.Merged;
import dev.loracle.runtime.engine.plan.ForwardPlan;
import dev.loracle.runtime.engine.plan.Op;
import dev.loracle.runtime.tensor.MatVec;
import dev.loracle.runtime.tensor.ParallelRunner;
import dev.loracle.runtime.tensor.MatMul;
import dev.loracle.runtime.tensor.QuantizedTensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Executes a {@link ForwardPlan} over a {@link StepBatch} on the CPU. Activations are flat {@code [rows x width]}
 * arrays; each op runs row by row with code that does not look at the other rows, so a row's numbers are the same in
 * any batch (the determinism rule: {@link MatMul} reduces each element as the single-token kernel does). Consecutive
 * projections of the same input run in one parallel region; gate/up fuse with the SiLU when no row adapts them.
 */
final class CpuStepExecutor {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final ForwardPlan plan;
    private final ParallelRunner pool;
    private final CpuAttention attention;
    private final Map<String, float[]> act = new HashMap<>();
    private int capacity;
    private float[] logits = new float[0], cos, sin;

    CpuStepExecutor(ForwardPlan plan, ParallelRunner pool) {
        this.plan = plan;
        this.pool = pool;
        this.attention = new CpuAttention(pool);
    }

    float[] execute(StepBatch batch, CpuKvBlocks kv, MatVec.DotMode mode) {
        int n = batch.size();
        ensureCapacity(n);
        ropeTables(batch);
        List<Op> ops = plan.ops();
        for (int i = 0; i < ops.size(); i++) {
            Op op = ops.get(i);
            switch (op) {
                case Op.Embed e -> {
                    float[] x = act.get(e.out());
                    int w = plan.width(e.out());
                    for (int t = 0; t < n; t++) e.table().dequantizeRow(batch.tokens()[t], x, t * w);
                }
                case Op.RmsNorm r -> {
                    int w = plan.width(r.in());
                    for (int t = 0; t < n; t++) rmsnorm(act.get(r.out()), t * w, act.get(r.in()), t * w, r.weight().data(), w, r.eps());
                }
                case Op.Project p -> {
                    List<Op.Project> group = new ArrayList<>();
                    group.add(p);
                    while (i + 1 < ops.size() && ops.get(i + 1) instanceof Op.Project next && next.in().equals(p.in()) && group.size() < 3) {
                        group.add(next);
                        i++;
                    }
                    String swiGluOut = null;
                    if (group.size() == 2 && i + 1 < ops.size() && ops.get(i + 1) instanceof Op.SwiGlu sw
                            && sw.gate().equals(group.get(0).out()) && sw.up().equals(group.get(1).out())
                            && group.get(0).bias() == null && group.get(1).bias() == null
                            && !anyLowRank(batch, p.layer(), group.get(0).kind()) && !anyLowRank(batch, p.layer(), group.get(1).kind())) {
                        swiGluOut = sw.out();
                        i++; // the SiLU product is fused into the matmul
                    }
                    project(group, batch, mode, swiGluOut);
                }
                case Op.HeadRmsNorm h -> {
                    float[] x = act.get(h.x());
                    int w = plan.width(h.x());
                    for (int t = 0; t < n; t++) {
                        for (int head = 0; head < h.heads(); head++) {
                            int off = t * w + head * h.headDim();
                            rmsnorm(x, off, x, off, h.weight().data(), h.headDim(), h.eps());
                        }
                    }
                }
                case Op.Rope r -> {
                    float[] x = act.get(r.x());
                    int w = plan.width(r.x()), half = plan.config().headDim() / 2;
                    float[] c = new float[half], s = new float[half];
                    for (int t = 0; t < n; t++) {
                        System.arraycopy(cos, t * half, c, 0, half);
                        System.arraycopy(sin, t * half, s, 0, half);
                        r.rope().rotate(x, t * w, r.heads(), c, s);
                    }
                }
                case Op.KvWrite k -> {
                    float[] keys = act.get(k.k()), values = act.get(k.v());
                    int w = plan.width(k.k());
                    for (int t = 0; t < n; t++) {
                        int p = batch.positions()[t];
                        kv.block(batch.block(t, p)).store(k.layer(), p % KvBlockStorage.BLOCK_POSITIONS, keys, t * w, values, t * w);
                    }
                }
                case Op.Attention a -> attention.run(a, batch, kv, act.get(a.q()), plan.width(a.q()), act.get(a.out()));
                case Op.SwiGlu s -> {
                    float[] g = act.get(s.gate()), u = act.get(s.up()), out = act.get(s.out());
                    for (int j = 0, m = n * plan.width(s.gate()); j < m; j++) out[j] = MatVec.silu(g[j]) * u[j];
                }
                case Op.Add a -> {
                    float[] x = act.get(a.x()), d = act.get(a.delta());
                    for (int j = 0, m = n * plan.width(a.x()); j < m; j++) x[j] += d[j];
                }
                case Op.Logits l -> logits(l, batch, mode);
            }
        }
        return logits;
    }

    /**
     * The projections of {@code group} (sharing one input): one batched matmul per weight source (the base for Base
     * and LowRank rows, each MERGED copy for its rows), then per row the bias and the row's low-rank deltas. With
     * {@code swiGlu} the group is (gate, up) and the SiLU product goes straight to {@code swiGluOut}.
     */
    private void project(List<Op.Project> group, StepBatch batch, MatVec.DotMode mode, String swiGluOut) {
        Op.Project first = group.getFirst();
        float[] in = act.get(first.in());
        int inW = plan.width(first.in()), n = batch.size(), k = group.size();
        Map<WeightOverlay, int[]> rowsBySource = rowsBySource(batch);
        for (Map.Entry<WeightOverlay, int[]> e : rowsBySource.entrySet()) {
            CpuOverlay copy = (CpuOverlay) e.getKey();
            int[] rows = e.getValue();
            boolean all = rows.length == n;
            QuantizedTensor[] ws = new QuantizedTensor[k];
            for (int g = 0; g < k; g++) {
                Op.Project p = group.get(g);
                ws[g] = copy == null ? p.weight() : copy.tensor(p.layer(), p.kind(), p.weight());
            }
            float[] x = all ? in : gather(in, inW, rows);
            if (swiGluOut != null) {
                int w = plan.width(swiGluOut);
                float[] y = all ? act.get(swiGluOut) : new float[rows.length * w];
                MatMul.matmulSwiGlu(pool, ws[0], ws[1], x, rows.length, y, mode);
                if (!all) scatter(y, w, rows, act.get(swiGluOut));
                continue;
            }
            float[][] ys = new float[k][];
            for (int g = 0; g < k; g++) ys[g] = all ? act.get(group.get(g).out()) : new float[rows.length * plan.width(group.get(g).out())];
            if (k == 1) MatMul.matmul(pool, ws[0], x, rows.length, ys[0], mode);
            else MatMul.matmulMany(pool, ws, x, rows.length, ys, mode);
            if (!all) for (int g = 0; g < k; g++) scatter(ys[g], plan.width(group.get(g).out()), rows, act.get(group.get(g).out()));
        }
        for (Op.Project p : group) {
            int w = plan.width(p.out());
            float[] out = act.get(p.out());
            if (p.bias() != null) for (int t = 0; t < n; t++) addBias(out, t * w, p.bias().data(), w);
        }
        // the low-rank deltas, row by row in parallel (a row's deltas are computed by one thread, in member order)
        LowRank[] setOf = new LowRank[n];
        boolean any = false;
        for (StepBatch.Segment seg : batch.segments()) {
            if (!(seg.binding() instanceof LowRank lr)) continue;
            for (int t = seg.start(); t < seg.end(); t++) setOf[t] = lr;
            any = true;
        }
        if (!any) return;
        pool.forRange(n, 1, (from, to) -> {
            float[] scratch = new float[64];
            for (int t = from; t < to; t++) {
                if (setOf[t] == null) continue;
                for (Op.Project p : group) scratch = addLowRank(setOf[t], p, in, t * inW, act.get(p.out()), t * plan.width(p.out()), scratch);
            }
        });
    }

    /** Rows by the weights they use: null = the base (Base and LowRank rows), else the MERGED copy. */
    private static Map<WeightOverlay, int[]> rowsBySource(StepBatch batch) {
        Map<WeightOverlay, List<int[]>> ranges = new LinkedHashMap<>();
        for (StepBatch.Segment seg : batch.segments()) {
            WeightOverlay key = seg.binding() instanceof Merged m ? m.copy() : null;
            ranges.computeIfAbsent(key, x -> new ArrayList<>()).add(new int[] {seg.start(), seg.end()});
        }
        Map<WeightOverlay, int[]> out = new LinkedHashMap<>();
        for (Map.Entry<WeightOverlay, List<int[]>> e : ranges.entrySet()) {
            int count = 0;
            for (int[] r : e.getValue()) count += r[1] - r[0];
            int[] rows = new int[count];
            int i = 0;
            for (int[] r : e.getValue()) for (int t = r[0]; t < r[1]; t++) rows[i++] = t;
            out.put(e.getKey(), rows);
        }
        return out;
    }

    private static float[] gather(float[] src, int width, int[] rows) {
        float[] x = new float[rows.length * width];
        for (int i = 0; i < rows.length; i++) System.arraycopy(src, rows[i] * width, x, i * width, width);
        return x;
    }

    private static void scatter(float[] src, int width, int[] rows, float[] dst) {
        for (int i = 0; i < rows.length; i++) System.arraycopy(src, i * width, dst, rows[i] * width, width);
    }

    /** Whether any row's adapter set has a delta for (layer, kind): then gate/up cannot be fused with the SiLU. */
    private static boolean anyLowRank(StepBatch batch, int layer, dev.loracle.runtime.lora.ProjectionKind kind) {
        for (StepBatch.Segment seg : batch.segments()) {
            if (!(seg.binding() instanceof LowRank lr)) continue;
            for (LowRankMember m : lr.members()) if (((CpuDeviceAdapter) m.adapter()).target(layer, kind) != null) return true;
        }
        return false;
    }

    /** Adds the set's deltas for {@code p} to one row; returns the scratch (grown when a rank needs it). */
    private static float[] addLowRank(LowRank set, Op.Project p, float[] x, int xOff, float[] y, int yOff, float[] scratch) {
        for (LowRankMember m : set.members()) {
            CpuDeviceAdapter.Target t = ((CpuDeviceAdapter) m.adapter()).target(p.layer(), p.kind());
            if (t == null) continue;
            if (scratch.length < t.rank()) scratch = new float[t.rank()];
            CpuDeviceAdapter.apply(t, m.weight(), x, xOff, y, yOff, scratch);
        }
        return scratch;
    }

    private void logits(Op.Logits l, StepBatch batch, MatVec.DotMode mode) {
        int dim = plan.width(l.in()), vocab = Math.toIntExact(l.classifier().rows());
        int rows = batch.logitRows();
        if (logits.length != rows * vocab) logits = new float[rows * vocab];
        float[] x = act.get(l.in());
        float[] normed = new float[rows * dim];
        int r = 0;
        for (int t = 0; t < batch.size(); t++) {
            if (batch.wantLogits()[t]) rmsnorm(normed, r++ * dim, x, t * dim, l.norm().data(), dim, l.eps());
        }
        if (rows > 0) MatMul.matmul(pool, l.classifier(), normed, rows, logits, mode);
    }

    private static void rmsnorm(float[] out, int outOff, float[] in, int inOff, MemorySegment weight, int n, float eps) {
        // llama.cpp's order: float squares summed in double, the mean rounded to float, then eps and 1/sqrt in float
        double sum = 0;
        for (int i = 0; i < n; i++) sum += in[inOff + i] * in[inOff + i];
        float ss = (float) (sum / n) + eps;
        ss = 1.0f / (float) Math.sqrt(ss);
        for (int i = 0; i < n; i++) out[outOff + i] = weight.getAtIndex(F32, i) * (ss * in[inOff + i]);
    }

    private static void addBias(float[] y, int off, MemorySegment bias, int n) {
        for (int i = 0; i < n; i++) y[off + i] += bias.getAtIndex(F32, i);
    }

    private void ropeTables(StepBatch batch) {
        int half = plan.config().headDim() / 2, n = batch.size();
        float[] c = new float[half], s = new float[half];
        for (int t = 0; t < n; t++) {
            plan.rope().cosSin(batch.positions()[t], c, s);
            System.arraycopy(c, 0, cos, t * half, half);
            System.arraycopy(s, 0, sin, t * half, half);
        }
    }

    private void ensureCapacity(int n) {
        if (n <= capacity) return;
        capacity = Math.max(n, capacity * 2);
        for (Map.Entry<String, Integer> e : plan.widths().entrySet()) act.put(e.getKey(), new float[capacity * e.getValue()]);
        int half = plan.config().headDim() / 2;
        cos = new float[capacity * half];
        sin = new float[capacity * half];
    }
}
