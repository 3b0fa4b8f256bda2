package dev.loracle.runtime.engine;

import dev.loracle.runtime.engine.plan.ForwardPlan;
import dev.loracle.runtime.lora.LoraAdapter;
import dev.loracle.runtime.lora.LoraMath.WeightedTarget;
import dev.loracle.runtime.memory.MemoryBudget;
import dev.loracle.runtime.memory.MemoryCategory;
import dev.loracle.runtime.memory.Reservation;
import dev.loracle.runtime.model.LlamaWeights;
import dev.loracle.runtime.model.ModelConfig;
import dev.loracle.runtime.tensor.MatVec;
import dev.loracle.runtime.tensor.ParallelRunner;
import dev.loracle.runtime.tensor.QuantizedTensor;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The CPU backend: base weights stay in the memory mapping (or the off-heap copies made by quantize-on-load), the
 * {@link ForwardPlan} runs on {@link CpuStepExecutor} with the Vector API kernels on a fixed {@link ParallelRunner};
 * KV blocks and resident adapters are heap arrays, MERGED copies off-heap ({@link CpuMerge}).
 */
public final class CpuBackend implements Backend {
    private final int threads;
    private volatile MatVec.DotMode dotMode;
    private final MemoryBudget budget;
    private final ParallelRunner pool;
    /** The pool runs one parallel job at a time: a step or a merge. */
    private final Object poolLock = new Object();
    private LlamaWeights weights;
    private ForwardPlan plan;
    private CpuStepExecutor executor;
    private CpuMerge merge;
    private Reservation baseReservation;

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
    public void setDotMode(MatVec.DotMode mode) { this.dotMode = Objects.requireNonNull(mode); }

    @Override
    public void loadBase(LlamaWeights w) {
        if (weights != null) throw new IllegalStateException("base already loaded");
        baseReservation = budget.reserve(MemoryCategory.BASE_WEIGHTS, w.byteSize(), "base");
        weights = w;
        plan = ForwardPlan.of(w);
        executor = new CpuStepExecutor(plan, pool);
        merge = new CpuMerge(w, budget, pool, threads);
    }

    public LlamaWeights weights() { return weights; }

    @Override public ForwardPlan plan() { return plan; }

    @Override
    public KvBlockStorage createKvStorage(KvCacheType type) {
        ModelConfig c = weights.config();
        return new CpuKvBlocks(type, c.nLayers(), c.kvDim(), c.headDim());
    }

    @Override
    public float[] execute(StepBatch batch, KvBlockStorage kv) {
        if (!(kv instanceof CpuKvBlocks blocks)) throw new IllegalArgumentException("KV storage is not from the CPU backend");
        int vocab = weights.config().vocabSize();
        for (int t : batch.tokens()) {
            if (t < 0 || t >= vocab) throw new IllegalArgumentException("token " + t + " outside vocabulary of " + vocab);
        }
        for (StepBatch.Segment s : batch.segments()) checkBinding(s.binding());
        synchronized (poolLock) {
            return executor.execute(batch, blocks, dotMode);
        }
    }

    private static void checkBinding(AdapterBinding b) {
        switch (b) {
            case AdapterBinding.Base base -> { }
            case AdapterBinding.Merged m -> {
                if (!(m.copy() instanceof CpuOverlay o)) throw new IllegalArgumentException("merged copy is not from the CPU backend");
                if (o.released()) throw new IllegalStateException("merged copy was released");
            }
            case AdapterBinding.LowRank lr -> {
                for (AdapterBinding.LowRankMember m : lr.members()) {
                    if (!(m.adapter() instanceof CpuDeviceAdapter a)) throw new IllegalArgumentException("adapter is not resident on the CPU backend");
                    if (a.closed()) throw new IllegalStateException("adapter " + a.adapter().id() + " was released");
                }
            }
        }
    }

    @Override
    public DeviceAdapter upload(LoraAdapter adapter) {
        Reservation r = budget.reserve(MemoryCategory.ADAPTER, CpuDeviceAdapter.residentBytes(adapter), "adapter:" + adapter.id());
        try {
            return new CpuDeviceAdapter(adapter, weights.config().nLayers(), r);
        } catch (RuntimeException | Error e) {
            r.close();
            throw e;
        }
    }

    @Override
    public long mergeBytes(Map<TensorId, List<WeightedTarget>> deltas) { return merge.mergeBytes(deltas); }

    @Override
    public WeightOverlay mergeInto(Map<TensorId, List<WeightedTarget>> deltas, String owner) {
        synchronized (poolLock) {
            return merge.mergeInto(deltas, owner);
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
