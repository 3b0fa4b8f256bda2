package dev.loracle.runtime.cuda;

import dev.loracle.runtime.engine.AttachMode;
import dev.loracle.runtime.engine.KvCacheType;
import dev.loracle.runtime.engine.TensorId;
import dev.loracle.runtime.lora.LoraMath.WeightedTarget;
import dev.loracle.runtime.lora.LoraTarget;
import dev.loracle.runtime.lora.ProjectionKind;
import dev.loracle.runtime.memory.MemoryCategory;
import dev.loracle.runtime.model.LlamaWeights;
import dev.loracle.runtime.model.ModelConfig;
import dev.loracle.runtime.tensor.GgmlType;
import dev.loracle.runtime.tensor.QuantizedTensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A Llama model resident on one CUDA device: the base weights uploaded once (BASE_WEIGHTS, never written after
 * upload), the activation buffers, the forward pass as a sequence of kernel launches, and the adapter overlays:
 * MERGED builds copy-on-write working copies in the device pool (dequantize -> add sum w_i s_i B_i A_i -> requantize
 * to the base type), UNMERGED keeps A and B on the device and adds w s B (A x) after the projection. Releasing an
 * overlay frees everything it allocated. Not thread-safe: the engine serialises calls.
 */
public final class CudaModel implements AutoCloseable {
    static final String BASE_OWNER = "base-weights";
    static final String SCRATCH_OWNER = "activations";
    /** Largest UNMERGED rank (size of the device buffer for t = A x). */
    static final int MAX_UNMERGED_RANK = 1024;

    private final DeviceRuntime device;
    private final DeviceMemoryPool pool;
    private final CudaKernels k;
    private final ModelConfig cfg;
    private final Map<String, DeviceTensor> baseByName = new LinkedHashMap<>();
    private final DeviceTensor embedding;
    private final DeviceTensor classifier;
    private final DeviceBuffer outputNorm;
    private final List<DeviceBuffer> attnNorm = new ArrayList<>();
    private final List<DeviceBuffer> ffnNorm = new ArrayList<>();
    private final List<Map<ProjectionKind, DeviceTensor>> projections = new ArrayList<>();
    private final DeviceBuffer x, xb, xb2, q, kv, vv, hb, hb2, att, logits, argmax, loraT;
    private final float[] hostLogits;

    /** Uploads {@code weights}; on any failure everything allocated so far is freed again. */
    public CudaModel(DeviceRuntime device, DeviceMemoryPool pool, KernelLauncher launcher, LlamaWeights weights) {
        this.device = Objects.requireNonNull(device, "device");
        this.pool = Objects.requireNonNull(pool, "pool");
        this.k = new CudaKernels(launcher);
        this.cfg = weights.config();
        try {
            Map<QuantizedTensor, DeviceTensor> uploaded = new IdentityHashMap<>();
            for (var e : weights.tensors().entrySet()) {
                DeviceTensor t = uploadTensor(e.getKey(), e.getValue());
                uploaded.put(e.getValue(), t);
                baseByName.put(e.getKey(), t);
            }
            this.embedding = uploaded.get(weights.tokenEmbedding());
            this.classifier = uploaded.get(weights.classifier());
            this.outputNorm = f32Vector(uploaded.get(weights.outputNorm()), weights.outputNorm());
            for (LlamaWeights.Layer l : weights.layers()) {
                attnNorm.add(f32Vector(uploaded.get(l.attnNorm()), l.attnNorm()));
                ffnNorm.add(f32Vector(uploaded.get(l.ffnNorm()), l.ffnNorm()));
                Map<ProjectionKind, DeviceTensor> m = new EnumMap<>(ProjectionKind.class);
                for (ProjectionKind kind : ProjectionKind.values()) m.put(kind, uploaded.get(l.projection(kind)));
                projections.add(m);
            }
            int dim = cfg.dim(), hidden = cfg.hiddenDim(), kvDim = cfg.kvDim();
            this.x = scratch(4L * dim);
            this.xb = scratch(4L * dim);
            this.xb2 = scratch(4L * dim);
            this.q = scratch(4L * dim);
            this.kv = scratch(4L * kvDim);
            this.vv = scratch(4L * kvDim);
            this.hb = scratch(4L * hidden);
            this.hb2 = scratch(4L * hidden);
            this.att = scratch(4L * cfg.nHeads() * cfg.contextLength());
            this.logits = scratch(4L * cfg.vocabSize());
            this.argmax = scratch(4);
            this.loraT = scratch(4L * MAX_UNMERGED_RANK);
            this.hostLogits = new float[cfg.vocabSize()];
        } catch (RuntimeException | Error e) {
            pool.close();
            throw e;
        }
    }

    public ModelConfig config() { return cfg; }

    public DeviceMemoryPool pool() { return pool; }

    public DeviceRuntime device() { return device; }

    /** A device KV cache for {@code positions} positions (KV_CACHE on the device budget; red line checked first). */
    public DeviceKvCache newKvCache(int positions, KvCacheType type, String owner) {
        if (positions <= 0 || positions > cfg.contextLength()) {
            throw new IllegalArgumentException("KV cache of " + positions + " positions; the model's context is "
                    + cfg.contextLength());
        }
        return new DeviceKvCache(pool, type, cfg.nLayers(), positions, cfg.kvDim(), cfg.nKvHeads(), owner);
    }

    /**
     * Runs one token at {@code pos} with {@code overlay} (null = base) and, when {@code wantLogits}, returns the logits
     * on the host in a buffer reused by the next call; prompt tokens before the last skip the classifier entirely.
     */
    public float[] forward(int token, int pos, DeviceKvCache cache, DeviceAttachment overlay, boolean wantLogits) {
        run(token, pos, cache, overlay, wantLogits);
        if (!wantLogits) return null;
        device.downloadFloats(logits.ptr(), hostLogits, hostLogits.length);
        return hostLogits;
    }

    /** Runs one token and returns the argmax of the logits, computed on the device (greedy decoding, 4 bytes back). */
    public int forwardArgmax(int token, int pos, DeviceKvCache cache, DeviceAttachment overlay) {
        run(token, pos, cache, overlay, true);
        k.argmax(logits.ptr(), cfg.vocabSize(), argmax.ptr());
        return device.downloadInt(argmax.ptr());
    }

    private void run(int token, int pos, DeviceKvCache cache, DeviceAttachment overlay, boolean wantLogits) {
        if (token < 0 || token >= cfg.vocabSize()) {
            throw new IllegalArgumentException("token " + token + " outside the vocabulary of " + cfg.vocabSize());
        }
        if (pos < 0 || pos >= cache.positions()) {
            throw new IllegalArgumentException("position " + pos + " outside the KV cache of " + cache.positions());
        }
        if (overlay != null && overlay.released()) throw new IllegalStateException(overlay + " was released");
        device.makeCurrent();
        int dim = cfg.dim(), kvDim = cfg.kvDim(), hidden = cfg.hiddenDim(), hs = cfg.headSize();
        float eps = cfg.rmsEps();
        k.dequantize(embedding.type(), embedding.ptr().offset(token * embedding.rowBytes()), x.ptr(), dim);
        for (int l = 0; l < cfg.nLayers(); l++) {
            k.rmsnorm(xb.ptr(), x.ptr(), attnNorm.get(l).ptr(), dim, 1, eps);
            project(overlay, l, ProjectionKind.Q, xb.ptr(), q.ptr(), false);
            project(overlay, l, ProjectionKind.K, xb.ptr(), kv.ptr(), false);
            project(overlay, l, ProjectionKind.V, xb.ptr(), vv.ptr(), false);
            k.rope(q.ptr(), kv.ptr(), pos, dim, kvDim, hs, cfg.ropeTheta());
            if (cache.type() == KvCacheType.F32) {
                k.kvStoreF32(cache.k(l), cache.v(l), kv.ptr(), vv.ptr(), pos, kvDim);
                k.attentionF32(xb2.ptr(), q.ptr(), cache.k(l), cache.v(l), att.ptr(), pos, cfg.contextLength(),
                        cfg.nHeads(), cfg.nKvHeads(), hs);
            } else {
                k.kvStoreInt8(cache.k(l), cache.kScale(l), cache.v(l), cache.vScale(l), kv.ptr(), vv.ptr(), pos,
                        cfg.nKvHeads(), hs);
                k.attentionInt8(xb2.ptr(), q.ptr(), cache.k(l), cache.kScale(l), cache.v(l), cache.vScale(l), att.ptr(),
                        pos, cfg.contextLength(), cfg.nHeads(), cfg.nKvHeads(), hs);
            }
            project(overlay, l, ProjectionKind.O, xb2.ptr(), x.ptr(), true);    // residual fused: x += Wo . att
            k.rmsnorm(xb.ptr(), x.ptr(), ffnNorm.get(l).ptr(), dim, 1, eps);
            project(overlay, l, ProjectionKind.GATE, xb.ptr(), hb.ptr(), false);
            project(overlay, l, ProjectionKind.UP, xb.ptr(), hb2.ptr(), false);
            k.swiglu(hb.ptr(), hb2.ptr(), hidden);
            project(overlay, l, ProjectionKind.DOWN, hb.ptr(), x.ptr(), true); // residual fused: x += Wdown . h
        }
        if (!wantLogits) return;
        k.rmsnorm(xb.ptr(), x.ptr(), outputNorm.ptr(), dim, 1, eps);
        k.matvec(classifier.type(), classifier.ptr(), xb.ptr(), logits.ptr(), classifier.rows(), classifier.cols(), false);
    }

    private void project(DeviceAttachment overlay, int layer, ProjectionKind kind, DevicePtr in, DevicePtr out,
                         boolean accumulate) {
        DeviceTensor base = projections.get(layer).get(kind);
        if (overlay == null) {
            k.matvec(base.type(), base.ptr(), in, out, base.rows(), base.cols(), accumulate);
            return;
        }
        TensorId id = new TensorId(layer, kind);
        DeviceTensor w = overlay.weight(id, base);
        k.matvec(w.type(), w.ptr(), in, out, w.rows(), w.cols(), accumulate);
        for (DeviceAttachment.LowRank d : overlay.lowRank(id)) {
            k.matvec(GgmlType.F32, d.a().ptr(), in, loraT.ptr(), d.rank(), d.in(), false);
            k.loraUpAdd(out, d.b().ptr(), loraT.ptr(), d.out(), d.rank(), d.coef());
        }
    }

    /** Peak bytes of an attach: held (working copies or A/B) plus the transient F32 copy and A/B of one merge. */
    public long overlayBytes(Map<TensorId, List<WeightedTarget>> deltas, AttachMode mode) {
        long held = 0, transientPeak = 0;
        for (var e : deltas.entrySet()) {
            DeviceTensor base = tensor(e.getKey());
            long ab = 0;
            for (WeightedTarget w : e.getValue()) ab += w.target().bytes();
            if (mode == AttachMode.UNMERGED) {
                held += ab;
            } else if (base.type() == GgmlType.F32) {
                held += 4L * base.rows() * base.cols();
                transientPeak = Math.max(transientPeak, ab);
            } else {
                held += base.byteSize();
                transientPeak = Math.max(transientPeak, ab + 4L * base.rows() * base.cols());
            }
        }
        return held + transientPeak;
    }

    /**
     * MERGED: one working copy per tensor with all its deltas summed: W' = requantize(dequantize(W) + sum coef_i B_i A_i)
     * (coef = weight * scale), in the base tensor's format. All or nothing: a failure frees what was made.
     */
    public DeviceAttachment mergeInto(Map<TensorId, List<WeightedTarget>> deltas, String owner) {
        DeviceAttachment a = new DeviceAttachment(AttachMode.MERGED, owner);
        build(a, () -> {
            for (var e : deltas.entrySet()) {
                DeviceTensor base = tensor(e.getKey());
                checkTargets(e.getKey(), base, e.getValue());
                a.putWorkingCopy(e.getKey(), merge(base, e.getValue(), owner));
            }
        });
        return a;
    }

    /** UNMERGED: A and B of every target on the device; forward adds coef * B (A x) after the base projection. */
    public DeviceAttachment lowRank(Map<TensorId, List<WeightedTarget>> deltas, String owner) {
        DeviceAttachment a = new DeviceAttachment(AttachMode.UNMERGED, owner);
        build(a, () -> {
            for (var e : deltas.entrySet()) {
                DeviceTensor base = tensor(e.getKey());
                checkTargets(e.getKey(), base, e.getValue());
                for (WeightedTarget w : e.getValue()) {
                    LoraTarget t = w.target();
                    if (t.rank() > MAX_UNMERGED_RANK) {
                        throw new IllegalArgumentException("rank " + t.rank() + " of " + t.describe()
                                + " exceeds the largest supported UNMERGED rank " + MAX_UNMERGED_RANK);
                    }
                    DeviceBuffer da = upload(MemoryCategory.ADAPTER, t.a(), owner);
                    DeviceBuffer db;
                    try {
                        db = upload(MemoryCategory.ADAPTER, t.b(), owner);
                    } catch (RuntimeException ex) {
                        da.close();
                        throw ex;
                    }
                    a.addLowRank(e.getKey(), new DeviceAttachment.LowRank(da, db, t.rank(), t.in(), t.out(),
                            w.weight() * t.scale()));
                }
            }
        });
        return a;
    }

    /** Frees an overlay's device memory (idempotent). */
    public void release(DeviceAttachment a) {
        device.synchronize();
        a.free();
    }

    private void build(DeviceAttachment a, Runnable steps) {
        device.makeCurrent();
        try {
            steps.run();
            device.synchronize();
        } catch (RuntimeException | Error e) {
            device.synchronize();
            a.free();
            throw e;
        }
    }

    private DeviceTensor tensor(TensorId id) {
        if (id.layer() < 0 || id.layer() >= cfg.nLayers()) {
            throw new IllegalArgumentException("tensor " + id + ": the model has " + cfg.nLayers() + " layers");
        }
        return projections.get(id.layer()).get(id.kind());
    }

    private static void checkTargets(TensorId id, DeviceTensor base, List<WeightedTarget> targets) {
        for (WeightedTarget w : targets) {
            LoraTarget t = w.target();
            if (t.out() != base.rows() || t.in() != base.cols()) {
                throw new IllegalArgumentException(t.describe() + " is [" + t.out() + " x " + t.in() + "] but tensor "
                        + id + " is [" + base.rows() + " x " + base.cols() + "]");
            }
        }
    }

    /** W' = requantize(dequantize(W) + sum coef_i B_i A_i) into a new WORKING_COPY buffer; W is only read. */
    private DeviceTensor merge(DeviceTensor base, List<WeightedTarget> deltas, String owner) {
        long n = (long) base.rows() * base.cols();
        boolean f32 = base.type() == GgmlType.F32;
        DeviceBuffer work = pool.allocate(f32 ? MemoryCategory.WORKING_COPY : MemoryCategory.SCRATCH, 4L * n, owner);
        List<DeviceBuffer> temporaries = new ArrayList<>();
        try {
            k.dequantize(base.type(), base.ptr(), work.ptr(), n);
            for (WeightedTarget w : deltas) {
                // A and B are needed only while merging: uploaded, used, freed (the working copy holds the result).
                DeviceBuffer da = upload(MemoryCategory.ADAPTER, w.target().a(), owner);
                temporaries.add(da);
                DeviceBuffer db = upload(MemoryCategory.ADAPTER, w.target().b(), owner);
                temporaries.add(db);
                k.loraMergeAdd(work.ptr(), db.ptr(), da.ptr(), base.rows(), base.cols(), w.target().rank(),
                        w.weight() * w.target().scale());
            }
            if (f32) {
                device.synchronize();
                return new DeviceTensor(base.name() + "#" + owner, GgmlType.F32, base.rows(), base.cols(), work);
            }
            temporaries.add(work);
            DeviceBuffer wc = pool.allocate(MemoryCategory.WORKING_COPY, base.byteSize(), owner);
            try {
                k.quantize(base.type(), work.ptr(), wc.ptr(), n);
                device.synchronize();
            } catch (RuntimeException ex) {
                device.synchronize();
                wc.close();
                throw ex;
            }
            return new DeviceTensor(base.name() + "#" + owner, base.type(), base.rows(), base.cols(), wc);
        } catch (RuntimeException | Error e) {
            device.synchronize();
            work.close();
            throw e;
        } finally {
            temporaries.forEach(DeviceBuffer::close);
        }
    }

    /** sha256 of the device copy of every base tensor, read back (the base is never written). */
    public Map<String, byte[]> baseTensorDigests() {
        Map<String, byte[]> out = new LinkedHashMap<>();
        try (Arena arena = Arena.ofConfined()) {
            for (var e : baseByName.entrySet()) {
                DeviceTensor t = e.getValue();
                MemorySegment host = arena.allocate(t.byteSize());
                device.download(t.ptr(), host);
                MessageDigest sha = MessageDigest.getInstance("SHA-256");
                sha.update(host.asByteBuffer());
                out.put(e.getKey(), sha.digest());
            }
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        return out;
    }

    @Override
    public void close() {
        pool.close();
    }

    private DeviceTensor uploadTensor(String name, QuantizedTensor t) {
        CudaKernels.suffix(t.type());
        DeviceBuffer b = pool.allocate(MemoryCategory.BASE_WEIGHTS, t.byteSize(), BASE_OWNER);
        device.upload(t.bytes(), b.ptr());
        return new DeviceTensor(name, t.type(), Math.toIntExact(t.rows()), Math.toIntExact(t.cols()), b);
    }

    /** Norm weights as F32 on the device: the uploaded tensor itself when F32, else a dequantized copy (BASE_WEIGHTS). */
    private DeviceBuffer f32Vector(DeviceTensor t, QuantizedTensor host) {
        if (t.type() == GgmlType.F32) return t.buffer();
        float[] v = new float[Math.toIntExact(host.elements())];
        for (long r = 0; r < host.rows(); r++) host.dequantizeRow(r, v, Math.toIntExact(r * host.cols()));
        DeviceBuffer b = pool.allocate(MemoryCategory.BASE_WEIGHTS, 4L * v.length, BASE_OWNER);
        device.upload(MemorySegment.ofArray(v), b.ptr());
        return b;
    }

    /**
     * Activation buffers live as long as the base and are accounted with it (BASE_WEIGHTS, owner "activations"), so
     * the figure that every detach returns to is the whole resident set, as cuMemGetInfo sees it.
     */
    private DeviceBuffer scratch(long bytes) {
        return pool.allocate(MemoryCategory.BASE_WEIGHTS, bytes, SCRATCH_OWNER);
    }

    private DeviceBuffer upload(MemoryCategory c, MemorySegment host, String owner) {
        DeviceBuffer b = pool.allocate(c, host.byteSize(), owner);
        try {
            device.upload(host, b.ptr());
        } catch (RuntimeException e) {
            b.close();
            throw e;
        }
        return b;
    }
}
