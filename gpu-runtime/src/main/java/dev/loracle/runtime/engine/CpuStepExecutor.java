package dev.loracle.runtime.engine;

import dev.loracle.runtime.engine.AdapterBinding.LowRank;
import dev.loracle.runtime.engine.AdapterBinding.LowRankMember;
import dev.loracle.runtime.engine.AdapterBinding.Merged;
import dev.loracle.runtime.engine.plan.ForwardPlan;
import dev.loracle.runtime.engine.plan.Op;
import dev.loracle.runtime.tensor.MatVec;
import dev.loracle.runtime.tensor.ParallelRunner;
import dev.loracle.runtime.tensor.Q8Activation;
import dev.loracle.runtime.tensor.QuantizedTensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Executes a {@link ForwardPlan} over a {@link StepBatch} on the CPU. Activations are flat {@code [rows x width]}
 * arrays; each op runs row by row with code that does not look at the other rows, so a row's numbers are the same in
 * any batch (the determinism rule). Consecutive projections of the same input run in one parallel region.
 */
final class CpuStepExecutor {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final ForwardPlan plan;
    private final ParallelRunner pool;
    private final CpuAttention attention;
    private final Map<String, float[]> act = new HashMap<>();
    private int capacity;
    private float[] logits = new float[0], cos, sin, rowIn, rankScratch = new float[64];
    private float[][] rowOuts;
    private final Q8Activation q8;

    CpuStepExecutor(ForwardPlan plan, ParallelRunner pool) {
        this.plan = plan;
        this.pool = pool;
        this.attention = new CpuAttention(pool);
        int widest = 0;
        for (int w : plan.widths().values()) widest = Math.max(widest, w);
        rowIn = new float[widest];
        rowOuts = new float[][] {new float[widest], new float[widest], new float[widest]};
        q8 = new Q8Activation(widest);
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
                    project(group, batch, mode);
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

    /** Rows of {@code group} (projections sharing one input) for each segment, with its weights and low-rank deltas. */
    private void project(List<Op.Project> group, StepBatch batch, MatVec.DotMode mode) {
        Op.Project first = group.getFirst();
        float[] in = act.get(first.in());
        int inW = plan.width(first.in());
        int k = group.size();
        QuantizedTensor[] ws = new QuantizedTensor[k];
        float[][] outs = new float[k][];
        for (StepBatch.Segment seg : batch.segments()) {
            for (int g = 0; g < k; g++) {
                Op.Project p = group.get(g);
                ws[g] = seg.binding() instanceof Merged m ? ((CpuOverlay) m.copy()).tensor(p.layer(), p.kind(), p.weight()) : p.weight();
                outs[g] = rowOuts[g];
            }
            for (int t = seg.start(); t < seg.end(); t++) {
                System.arraycopy(in, t * inW, rowIn, 0, inW);
                Q8Activation xq = activation(ws[0], rowIn, mode);
                if (k == 1) MatVec.matmul(pool, ws[0], rowIn, xq, outs[0], mode);
                else MatVec.matmulMany(pool, ws, outs, rowIn, xq, mode);
                for (int g = 0; g < k; g++) {
                    Op.Project p = group.get(g);
                    int w = plan.width(p.out());
                    float[] out = act.get(p.out());
                    System.arraycopy(outs[g], 0, out, t * w, w);
                    if (p.bias() != null) addBias(out, t * w, p.bias().data(), w);
                    if (seg.binding() instanceof LowRank lr) addLowRank(lr, p, in, t * inW, out, t * w);
                }
            }
        }
    }

    private void addLowRank(LowRank set, Op.Project p, float[] x, int xOff, float[] y, int yOff) {
        for (LowRankMember m : set.members()) {
            CpuDeviceAdapter.Target t = ((CpuDeviceAdapter) m.adapter()).target(p.layer(), p.kind());
            if (t == null) continue;
            if (rankScratch.length < t.rank()) rankScratch = new float[t.rank()];
            CpuDeviceAdapter.apply(t, m.weight(), x, xOff, y, yOff, rankScratch);
        }
    }

    private void logits(Op.Logits l, StepBatch batch, MatVec.DotMode mode) {
        int dim = plan.width(l.in()), vocab = Math.toIntExact(l.classifier().rows());
        int rows = batch.logitRows();
        if (logits.length != rows * vocab) logits = new float[rows * vocab];
        float[] x = act.get(l.in());
        float[] normed = new float[dim], out = new float[vocab];
        int r = 0;
        for (int t = 0; t < batch.size(); t++) {
            if (!batch.wantLogits()[t]) continue;
            rmsnorm(normed, 0, x, t * dim, l.norm().data(), dim, l.eps());
            MatVec.matmul(pool, l.classifier(), normed, activation(l.classifier(), normed, mode), out, mode);
            System.arraycopy(out, 0, logits, r++ * vocab, vocab);
        }
    }

    /** The input quantized to Q8 blocks, when this matmul will use integer dot products. */
    private Q8Activation activation(QuantizedTensor w, float[] in, MatVec.DotMode mode) {
        if (mode != MatVec.DotMode.INT8 || !w.type().quantized() || w.cols() % 32 != 0) return null;
        return q8.quantize(in, (int) w.cols());
    }

    private static void rmsnorm(float[] out, int outOff, float[] in, int inOff, MemorySegment weight, int n, float eps) {
        float ss = 0f;
        for (int i = 0; i < n; i++) ss += in[inOff + i] * in[inOff + i];
        ss /= n;
        ss += eps;
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
