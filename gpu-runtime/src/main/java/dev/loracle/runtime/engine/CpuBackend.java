package dev.loracle.runtime.engine;

import dev.loracle.runtime.lora.LoraMath;
import dev.loracle.runtime.lora.LoraMath.WeightedTarget;
import dev.loracle.runtime.lora.ProjectionKind;
import dev.loracle.runtime.memory.MemoryBudget;
import dev.loracle.runtime.memory.MemoryCategory;
import dev.loracle.runtime.memory.Reservation;
import dev.loracle.runtime.model.LlamaWeights;
import dev.loracle.runtime.model.ModelConfig;
import dev.loracle.runtime.tensor.GgmlType;
import dev.loracle.runtime.tensor.MatVec;
import dev.loracle.runtime.tensor.ParallelRunner;
import dev.loracle.runtime.tensor.Q8Activation;
import dev.loracle.runtime.tensor.QuantizedTensor;
import dev.loracle.runtime.tensor.Quantization;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The CPU backend: base weights stay in the memory mapping (or the off-heap copies made by quantize-on-load),
 * kernels are {@link MatVec}'s Vector API matmuls on a fixed {@link ParallelRunner}. The forward pass follows
 * llama2.c's run.c: RMSNorm, RoPE on adjacent pairs, grouped-query attention, SwiGLU, classifier.
 */
public final class CpuBackend implements Backend {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final int threads;
    private volatile MatVec.DotMode dotMode;
    private final MemoryBudget budget;
    private final ParallelRunner pool;
    private LlamaWeights weights;
    private ModelConfig c;
    private Reservation baseReservation;
    // activations of the one forward pass in flight
    private float[] x, xb, xb2, hb, hb2, q, k, v, logits, att, rankScratch;
    private float[] ropeCos, ropeSin;
    private Q8Activation actDim, actHidden;

    public CpuBackend(int threads, MatVec.DotMode dotMode, MemoryBudget budget) {
        this.threads = threads;
        this.dotMode = dotMode;
        this.budget = budget;
        this.pool = new ParallelRunner(threads);
    }

    @Override public String name() { return budget.device(); }

    @Override
    public String description() {
        return "cpu (" + threads + " threads, " + dotMode.name().toLowerCase() + " dot products, Vector API "
                + MatVec.vectorBits() + "-bit)";
    }

    @Override public MemoryBudget memory() { return budget; }

    public int threads() { return threads; }

    public MatVec.DotMode dotMode() { return dotMode; }

    /** Switches how quantized matmuls multiply (the bench compares both on one resident model). */
    public void setDotMode(MatVec.DotMode mode) { this.dotMode = java.util.Objects.requireNonNull(mode); }

    @Override
    public void loadBase(LlamaWeights w) {
        if (weights != null) throw new IllegalStateException("base already loaded");
        baseReservation = budget.reserve(MemoryCategory.BASE_WEIGHTS, w.byteSize(), "base");
        weights = w;
        c = w.config();
        int dim = c.dim();
        x = new float[dim];
        xb = new float[dim];
        xb2 = new float[dim];
        hb = new float[c.hiddenDim()];
        hb2 = new float[c.hiddenDim()];
        q = new float[dim];
        k = new float[c.kvDim()];
        v = new float[c.kvDim()];
        logits = new float[c.vocabSize()];
        att = new float[0];
        rankScratch = new float[64];
        actDim = new Q8Activation(dim);
        actHidden = new Q8Activation(c.hiddenDim());
        int half = c.headSize() / 2;
        ropeCos = new float[c.contextLength() * half];
        ropeSin = new float[c.contextLength() * half];
        for (int pos = 0; pos < c.contextLength(); pos++) {
            for (int i = 0; i < half; i++) {
                float freq = 1.0f / (float) StrictMath.pow(c.ropeTheta(), (2 * i) / (float) c.headSize());
                float val = pos * freq;
                ropeCos[pos * half + i] = (float) StrictMath.cos(val);
                ropeSin[pos * half + i] = (float) StrictMath.sin(val);
            }
        }
    }

    public LlamaWeights weights() { return weights; }

    @Override
    public long kvCacheBytes(int positions, KvCacheType type) {
        return CpuKvCache.bytesFor(c.nLayers(), positions, c.kvDim(), c.headSize(), type);
    }

    @Override
    public KvCache allocateKvCache(int positions, KvCacheType type) {
        if (positions < 1 || positions > c.contextLength()) {
            throw new IllegalArgumentException("KV cache positions must be in 1.." + c.contextLength() + ", got " + positions);
        }
        Reservation r = budget.reserve(MemoryCategory.KV_CACHE, kvCacheBytes(positions, type), "kv-cache");
        try {
            return new CpuKvCache(c.nLayers(), positions, c.kvDim(), c.headSize(), type, r);
        } catch (OutOfMemoryError e) {
            r.close();
            throw e;
        }
    }

    // ---------------------------------------------------------------- forward

    @Override
    public float[] forward(int token, int pos, KvCache kvCache, WeightOverlay overlay, boolean wantLogits) {
        if (!(kvCache instanceof CpuKvCache kv)) throw new IllegalArgumentException("KV cache is not from the CPU backend");
        if (pos < 0 || pos >= kv.positions) throw new IllegalArgumentException("position " + pos + " outside KV cache of " + kv.positions);
        if (token < 0 || token >= c.vocabSize()) throw new IllegalArgumentException("token " + token + " outside vocabulary of " + c.vocabSize());
        CpuOverlay ov = null;
        if (overlay != null) {
            if (!(overlay instanceof CpuOverlay o)) throw new IllegalArgumentException("overlay is not from the CPU backend");
            if (o.released()) throw new IllegalStateException("overlay was released (adapter detached)");
            ov = o;
        }
        int dim = c.dim();
        weights.tokenEmbedding().dequantizeRow(token, x, 0);
        for (int l = 0; l < c.nLayers(); l++) {
            LlamaWeights.Layer layer = weights.layers().get(l);

            // attention: q, k, v = Wq xb, Wk xb, Wv xb (one parallel region)
            rmsnorm(xb, x, layer.attnNorm(), dim);
            QuantizedTensor wq = pick(ov, l, ProjectionKind.Q, layer.wq());
            QuantizedTensor wk = pick(ov, l, ProjectionKind.K, layer.wk());
            QuantizedTensor wv = pick(ov, l, ProjectionKind.V, layer.wv());
            MatVec.matmulMany(pool, new QuantizedTensor[] {wq, wk, wv}, new float[][] {q, k, v}, xb, activation(wq, xb, actDim), dotMode);
            lowRank(ov, l, ProjectionKind.Q, xb, q);
            lowRank(ov, l, ProjectionKind.K, xb, k);
            lowRank(ov, l, ProjectionKind.V, xb, v);
            rope(q, c.dim(), pos);
            rope(k, c.kvDim(), pos);
            kv.store(l, pos, k, v);
            attention(kv, l, pos);

            // output projection and residual
            QuantizedTensor wo = pick(ov, l, ProjectionKind.O, layer.wo());
            MatVec.matmul(pool, wo, xb2, activation(wo, xb2, actDim), xb, dotMode);
            lowRank(ov, l, ProjectionKind.O, xb2, xb);
            for (int i = 0; i < dim; i++) x[i] += xb[i];

            // SwiGLU feed-forward: down(silu(gate xb) * (up xb))
            rmsnorm(xb, x, layer.ffnNorm(), dim);
            QuantizedTensor wg = pick(ov, l, ProjectionKind.GATE, layer.gate());
            QuantizedTensor wu = pick(ov, l, ProjectionKind.UP, layer.up());
            if (hasLowRank(ov, l, ProjectionKind.GATE) || hasLowRank(ov, l, ProjectionKind.UP)) {
                MatVec.matmulMany(pool, new QuantizedTensor[] {wg, wu}, new float[][] {hb, hb2}, xb, activation(wg, xb, actDim), dotMode);
                lowRank(ov, l, ProjectionKind.GATE, xb, hb);
                lowRank(ov, l, ProjectionKind.UP, xb, hb2);
                for (int i = 0; i < hb.length; i++) hb[i] = MatVec.silu(hb[i]) * hb2[i];
            } else { // gate, up and the SiLU product in one parallel region
                MatVec.matmulSwiGlu(pool, wg, wu, xb, activation(wg, xb, actDim), hb, dotMode);
            }
            QuantizedTensor wd = pick(ov, l, ProjectionKind.DOWN, layer.down());
            MatVec.matmul(pool, wd, hb, activation(wd, hb, actHidden), xb, dotMode);
            lowRank(ov, l, ProjectionKind.DOWN, hb, xb);
            for (int i = 0; i < dim; i++) x[i] += xb[i];
        }
        if (!wantLogits) return null;
        rmsnorm(x, x, weights.outputNorm(), dim);
        QuantizedTensor cls = weights.classifier();
        MatVec.matmul(pool, cls, x, activation(cls, x, actDim), logits, dotMode);
        return logits;
    }

    private static QuantizedTensor pick(CpuOverlay ov, int layer, ProjectionKind kind, QuantizedTensor base) {
        return ov == null ? base : ov.tensor(layer, kind, base);
    }

    /** The input quantized to Q8 blocks, when this matmul will use integer dot products. */
    private Q8Activation activation(QuantizedTensor w, float[] in, Q8Activation buf) {
        if (dotMode != MatVec.DotMode.INT8 || !w.type().quantized() || w.cols() % 32 != 0) return null;
        return buf.quantize(in, (int) w.cols());
    }

    private static boolean hasLowRank(CpuOverlay ov, int layer, ProjectionKind kind) {
        return ov != null && ov.deltas(layer, kind) != null;
    }

    private void lowRank(CpuOverlay ov, int layer, ProjectionKind kind, float[] in, float[] out) {
        if (ov == null) return;
        LoraMath.UnmergedDelta d = ov.deltas(layer, kind);
        if (d == null) return;
        if (rankScratch.length < d.rankSum()) rankScratch = new float[d.rankSum()];
        d.apply(in, out, rankScratch);
    }

    private void rmsnorm(float[] out, float[] in, QuantizedTensor weight, int n) {
        float ss = 0f;
        for (int i = 0; i < n; i++) ss += in[i] * in[i];
        ss /= n;
        ss += c.rmsEps();
        ss = 1.0f / (float) Math.sqrt(ss);
        MemorySegment w = weight.data();
        for (int i = 0; i < n; i++) out[i] = w.getAtIndex(F32, i) * (ss * in[i]);
    }

    /** Rotates adjacent pairs (v[i], v[i+1]) of each head by pos * theta^(-i/headSize) (llama2.c / GGUF llama order). */
    private void rope(float[] vec, int n, int pos) {
        int hs = c.headSize();
        int half = hs / 2;
        int base = pos * half;
        for (int i = 0; i < n; i += 2) {
            int j = (i % hs) / 2;
            float fcr = ropeCos[base + j], fci = ropeSin[base + j];
            float v0 = vec[i], v1 = vec[i + 1];
            vec[i] = v0 * fcr - v1 * fci;
            vec[i + 1] = v0 * fci + v1 * fcr;
        }
    }

    private void attention(CpuKvCache kv, int layer, int pos) {
        int hs = c.headSize();
        int nHeads = c.nHeads();
        int kvMul = c.kvMul();
        int span = pos + 1;
        if (att.length < nHeads * kv.positions) att = new float[nHeads * kv.positions];
        float invSqrt = 1.0f / (float) Math.sqrt(hs);
        int grain = Math.max(1, (1 << 14) / (span * hs * 2));
        pool.forRange(nHeads, grain, (h0, h1) -> {
            for (int h = h0; h < h1; h++) {
                int qOff = h * hs;
                int kvh = h / kvMul;
                int a = h * kv.positions;
                float max = Float.NEGATIVE_INFINITY;
                for (int t = 0; t < span; t++) {
                    float s = kv.keyDot(layer, t, kvh, q, qOff) * invSqrt;
                    att[a + t] = s;
                    if (s > max) max = s;
                }
                float sum = 0f;
                for (int t = 0; t < span; t++) {
                    float e = (float) StrictMath.exp(att[a + t] - max);
                    att[a + t] = e;
                    sum += e;
                }
                for (int i = 0; i < hs; i++) xb2[qOff + i] = 0f;
                for (int t = 0; t < span; t++) kv.addValue(layer, t, kvh, att[a + t] / sum, xb2, qOff);
            }
        });
    }

    // ---------------------------------------------------------------- adapters

    private QuantizedTensor base(TensorId id) {
        if (id.layer() < 0 || id.layer() >= c.nLayers()) throw new IllegalArgumentException("no layer " + id.layer());
        return weights.projection(id.layer(), id.kind());
    }

    @Override
    public long overlayBytes(Map<TensorId, List<WeightedTarget>> deltas, AttachMode mode) {
        if (mode == AttachMode.UNMERGED) return unmergedBytes(deltas);
        long held = 0;
        for (TensorId id : deltas.keySet()) held += base(id).byteSize();
        return held + mergeScratchFloats(deltas.keySet()) * Float.BYTES;
    }

    /**
     * Float scratch a MERGED attach needs: one dequantized tensor per merging thread (tensors are merged in parallel,
     * one per thread at a time), none for F32 bases (merged in place in their copy).
     */
    private long mergeScratchFloats(Iterable<TensorId> ids) {
        long largest = 0;
        int quantized = 0;
        for (TensorId id : ids) {
            QuantizedTensor b = base(id);
            if (b.type() != GgmlType.F32) {
                largest = Math.max(largest, scratchFloats(b));
                quantized++;
            }
        }
        return largest * Math.min(threads, quantized);
    }

    /** Floats of scratch one quantized tensor's merge needs: a block of rows when it can be fused, else all of it. */
    private static long scratchFloats(QuantizedTensor b) {
        return fusable(b) ? (long) mergeBlockRows(b) * b.cols() : b.elements();
    }

    /** Whether the tensor can be merged a block of rows at a time: its quantization blocks never straddle rows. */
    private static boolean fusable(QuantizedTensor b) {
        return b.rows() > 0 && b.cols() > 0 && b.cols() % QUANT_BLOCK == 0 && b.byteSize() % b.rows() == 0;
    }

    private static int mergeBlockRows(QuantizedTensor b) {
        return (int) Math.max(1, Math.min(b.rows(), MERGE_BLOCK_FLOATS / b.cols()));
    }

    /** The prepared operands hold each target's A and B once more (stacked, scaled): their F32 bytes. */
    private static long unmergedBytes(Map<TensorId, List<WeightedTarget>> deltas) {
        long n = 0;
        for (List<WeightedTarget> list : deltas.values()) {
            for (WeightedTarget t : list) n += t.target().bytes();
        }
        return n;
    }

    @Override
    @SuppressWarnings("unchecked")
    public WeightOverlay mergeInto(Map<TensorId, List<WeightedTarget>> deltas, String owner) {
        long held = 0, largest = 0;
        List<TensorId> ids = new ArrayList<>(deltas.keySet());
        for (TensorId id : ids) {
            QuantizedTensor b = base(id);
            held += b.byteSize();
            if (b.type() != GgmlType.F32) largest = Math.max(largest, scratchFloats(b));
        }
        long scratchFloats = mergeScratchFloats(ids);
        Reservation wc = budget.reserve(MemoryCategory.WORKING_COPY, held, owner);
        Reservation sc = null;
        Arena arena = Arena.ofShared();
        try {
            sc = scratchFloats > 0 ? budget.reserve(MemoryCategory.SCRATCH, scratchFloats * Float.BYTES, owner) : null;
            // one scratch per concurrently merging thread, handed from chunk to chunk (at most `threads` run at once)
            java.util.concurrent.ConcurrentLinkedQueue<float[]> scratch = new java.util.concurrent.ConcurrentLinkedQueue<>();
            for (long f = 0; f < scratchFloats; f += largest) scratch.add(new float[Math.toIntExact(largest)]);
            QuantizedTensor[] bases = new QuantizedTensor[ids.size()];
            MemorySegment[] copies = new MemorySegment[ids.size()];
            for (int i = 0; i < bases.length; i++) bases[i] = base(ids.get(i));
            // the workers allocate their copies (a shared arena allocates from any thread), so that zeroing and first
            // touch of the fresh pages run in parallel rather than on this thread before the merge starts;
            // one tensor per chunk, so that the threads finish within one tensor's merge of each other
            pool.forRange(bases.length, 1, bases.length, (s, e) -> {
                float[] buf = null; // taken only by chunks with a quantized tensor: never more of them at once than buffers
                try {
                    for (int i = s; i < e; i++) {
                        if (buf == null && bases[i].type() != GgmlType.F32) buf = scratch.remove();
                        copies[i] = arena.allocate(bases[i].byteSize(), 64);
                        fillWorkingCopy(bases[i], deltas.get(ids.get(i)), copies[i], buf);
                    }
                } finally {
                    if (buf != null) scratch.add(buf);
                }
            });
            QuantizedTensor[][] merged = new QuantizedTensor[c.nLayers()][ProjectionKind.values().length];
            for (int i = 0; i < bases.length; i++) {
                TensorId id = ids.get(i);
                merged[id.layer()][id.kind().ordinal()] =
                        new QuantizedTensor(bases[i].name() + "+lora", bases[i].type(), bases[i].rows(), bases[i].cols(), copies[i]);
            }
            return new CpuOverlay(AttachMode.MERGED, deltas.keySet(), merged, null, arena, wc);
        } catch (RuntimeException | Error e) {
            arena.close();
            wc.close();
            throw e;
        } finally {
            if (sc != null) sc.close();
        }
    }

    /** Elements per quantization block of Q8_0 and Q4_0. */
    private static final int QUANT_BLOCK = 32;
    /** Floats per row block of a fused merge: 32 rows of 768 (96 KiB), well inside L2. */
    private static final int MERGE_BLOCK_FLOATS = 32 * 768;

    /**
     * dst = requantize(dequantize(W) + sum w_i s_i B_i A_i), in W's format, on the calling thread ({@code scratch}
     * holds {@link #scratchFloats} dequantized values; unused for F32).
     */
    private static void fillWorkingCopy(QuantizedTensor base, List<WeightedTarget> deltas, MemorySegment dst, float[] scratch) {
        int rows = Math.toIntExact(base.rows()), cols = Math.toIntExact(base.cols());
        int n = Math.multiplyExact(rows, cols);
        if (base.type() == GgmlType.F32) {
            MemorySegment.copy(base.data(), 0, dst, 0, base.byteSize());
            LoraMath.addComposite(dst, rows, cols, deltas, 1);
        } else if (fusable(base)) {
            // Blocks never straddle rows: dequantize, merge and requantize a few rows at a time, so that the floats stay
            // in L2 instead of making three passes over the whole tensor in memory (same bytes as the whole-tensor path).
            LoraMath.RowMerger merger = LoraMath.rowMerger(rows, cols, deltas);
            long rowBytes = base.byteSize() / rows;
            int block = mergeBlockRows(base);
            for (int r0 = 0; r0 < rows; r0 += block) {
                int r1 = Math.min(rows, r0 + block);
                int m = (r1 - r0) * cols;
                Quantization.dequantize(base.type(), base.data(), r0 * rowBytes, scratch, 0, m);
                if (merger != null) merger.addRows(scratch, 0, r0, r1);
                Quantization.quantize(base.type(), scratch, 0, m, dst, r0 * rowBytes);
            }
        } else {
            // rows are stored back to back, so the whole tensor is one run of blocks
            Quantization.dequantize(base.type(), base.data(), 0, scratch, 0, n);
            LoraMath.addComposite(MemorySegment.ofArray(scratch).asSlice(0, (long) n * Float.BYTES), rows, cols, deltas, 1);
            Quantization.quantize(base.type(), scratch, 0, n, dst, 0);
        }
    }

    @Override
    @SuppressWarnings("unchecked")
    public WeightOverlay lowRank(Map<TensorId, List<WeightedTarget>> deltas, String owner) {
        for (TensorId id : deltas.keySet()) base(id);
        Reservation r = budget.reserve(MemoryCategory.ADAPTER, unmergedBytes(deltas), owner);
        try {
            LoraMath.UnmergedDelta[][] lr = new LoraMath.UnmergedDelta[c.nLayers()][ProjectionKind.values().length];
            long prepared = 0;
            for (Map.Entry<TensorId, List<WeightedTarget>> e : deltas.entrySet()) {
                QuantizedTensor b = base(e.getKey());
                LoraMath.UnmergedDelta d = LoraMath.prepareUnmerged((int) b.rows(), (int) b.cols(), e.getValue());
                lr[e.getKey().layer()][e.getKey().kind().ordinal()] = d;
                prepared += d.bytes();
            }
            if (prepared != r.bytes()) { // account what the prepared operands really take
                r.close();
                r = budget.reserve(MemoryCategory.ADAPTER, prepared, owner);
            }
            return new CpuOverlay(AttachMode.UNMERGED, deltas.keySet(), null, lr, null, r);
        } catch (RuntimeException | Error e) {
            r.close();
            throw e;
        }
    }

    @Override
    public void release(WeightOverlay overlay) {
        if (!(overlay instanceof CpuOverlay o)) throw new IllegalArgumentException("overlay is not from the CPU backend");
        o.release();
    }

    @Override
    public Map<String, byte[]> baseTensorDigests() {
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, QuantizedTensor> e : weights.tensors().entrySet()) {
            try {
                MessageDigest md = MessageDigest.getInstance("SHA-256");
                md.update(e.getValue().bytes().asByteBuffer());
                out.put(e.getKey(), md.digest());
            } catch (NoSuchAlgorithmException ex) {
                throw new IllegalStateException(ex);
            }
        }
        return out;
    }

    /** Tensors (base) by name, for tools. */
    public List<QuantizedTensor> baseTensors() { return new ArrayList<>(weights.tensors().values()); }

    @Override
    public void close() {
        pool.close();
        if (baseReservation != null) baseReservation.close();
    }
}
