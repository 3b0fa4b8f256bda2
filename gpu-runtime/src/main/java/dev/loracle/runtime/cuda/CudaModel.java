package dev.loracle.runtime.cuda;

import dev.loracle.runtime.cuda.BatchKernels.Weights;
import dev.loracle.runtime.engine.KvCacheType;
import dev.loracle.runtime.engine.TensorId;
import dev.loracle.runtime.engine.plan.RopeSpec;
import dev.loracle.runtime.lora.LoraMath.WeightedTarget;
import dev.loracle.runtime.lora.LoraTarget;
import dev.loracle.runtime.memory.MemoryCategory;
import dev.loracle.runtime.model.LlamaWeights;
import dev.loracle.runtime.model.ModelConfig;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A Llama model resident on one CUDA device: the base weights ({@link ResidentWeights}, never written after upload),
 * the step executor, and MERGED copies: built copy-on-write working copies with ONE fused kernel per
 * tensor (dequantize -> add the whole set's B A -> requantize) after ONE upload of the set and ONE sync; UNMERGED
 * adapters ({@link CudaDeviceAdapter}) keep A and B^T resident and the step adds their deltas with the segmented
 * kernels. Releasing a copy frees everything it allocated. Not thread-safe: the backend serialises calls.
 */
public final class CudaModel implements AutoCloseable {
    private final DeviceRuntime device;
    private final DeviceMemoryPool pool;
    private final BatchKernels k;
    private final ResidentWeights weights;
    private final StepExecutor executor;
    private final ModelConfig cfg;

    /** Uploads {@code weights}; on any failure everything allocated so far is freed again. */
    public CudaModel(DeviceRuntime device, DeviceMemoryPool pool, KernelLauncher launcher, LlamaWeights weights, RopeSpec rope) {
        this.device = Objects.requireNonNull(device, "device");
        this.pool = Objects.requireNonNull(pool, "pool");
        this.k = new BatchKernels(launcher);
        this.cfg = weights.config();
        try {
            device.makeCurrent();
            this.weights = new ResidentWeights(device, pool, weights, rope);
            this.executor = new StepExecutor(device, pool, launcher, this.weights);
        } catch (RuntimeException | Error e) {
            pool.close();
            throw e;
        }
    }

    public ModelConfig config() { return cfg; }

    public DeviceMemoryPool pool() { return pool; }

    public DeviceRuntime device() { return device; }

    /** CUDA graph use of the step executor (bench and logs). */
    public String graphStats() { return executor.graphStats(); }

    /** Runs one step; logits of the rows that want them, [rows x vocab] (null when none). */
    float[] execute(StepInput step, KvCacheType kvType) {
        device.makeCurrent();
        return executor.run(step, kvType);
    }

    /** Peak bytes of a MERGED attach: the working copies plus the transient upload of the set's operands. */
    public long mergeBytes(Map<TensorId, List<WeightedTarget>> deltas) {
        long held = 0, operands = 0;
        for (var e : deltas.entrySet()) {
            for (WeightedTarget w : e.getValue()) operands += w.target().bytes();
            held += tensorBytes(base(e.getKey()));
        }
        return held + operands;
    }

    /**
     * MERGED: W' = requantize(dequantize(W) + sum coef_i B_i A_i) per tensor, in W's device layout. The whole set's
     * stacked A and pre-scaled B^T go up in one copy; one fused kernel per tensor; one sync. All or nothing.
     */
    public MergedCopy mergeInto(Map<TensorId, List<WeightedTarget>> deltas, String owner) {
        device.makeCurrent();
        MergedCopy copy = new MergedCopy(owner);
        long bytes = 0;
        for (var e : deltas.entrySet()) {
            checkTargets(e.getKey(), base(e.getKey()), e.getValue());
            for (WeightedTarget w : e.getValue()) bytes += 4L * w.target().rank() * (w.target().in() + w.target().out());
        }
        DeviceBuffer operands = pool.allocate(MemoryCategory.ADAPTER, Math.max(4, bytes), owner + "/merge-operands");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(Math.max(4, bytes), 16);
            record Job(TensorId id, long aOff, long btOff, int rank) {}
            List<Job> jobs = new ArrayList<>();
            long off = 0;
            for (var e : deltas.entrySet()) {
                Weights base = base(e.getKey());
                int rank = e.getValue().stream().mapToInt(w -> w.target().rank()).sum();
                long aOff = off, btOff = off + 4L * rank * base.cols();
                int k0 = 0;
                for (WeightedTarget w : e.getValue()) {
                    LoraTarget t = w.target();
                    float coef = w.weight() * t.scale();
                    MemorySegment.copy(t.a(), 0, host, aOff + 4L * k0 * t.in(), 4L * t.rank() * t.in());
                    for (int r = 0; r < t.rank(); r++) {
                        for (int o = 0; o < t.out(); o++) {
                            host.set(LoraTarget.F32, btOff + 4L * ((long) (k0 + r) * t.out() + o), coef * t.bAt(o, r));
                        }
                    }
                    k0 += t.rank();
                }
                jobs.add(new Job(e.getKey(), aOff, btOff, rank));
                off = btOff + 4L * rank * base.rows();
            }
            device.upload(host, operands.ptr());
            for (Job j : jobs) {
                Weights base = base(j.id());
                DeviceBuffer wc = pool.allocate(MemoryCategory.WORKING_COPY, tensorBytes(base), owner);
                Weights dst = Weights.of(base.type(), wc.ptr(), base.rows(), base.cols());
                copy.put(j.id(), dst, wc);
                k.merge(dst, base, operands.ptr().offset(j.aOff()), operands.ptr().offset(j.btOff()), j.rank());
            }
            device.synchronize();
        } catch (RuntimeException | Error e) {
            device.synchronize();
            copy.free();
            throw e;
        } finally {
            operands.close();
        }
        return copy;
    }

    /** Frees a merged copy's device memory (idempotent). */
    public void release(MergedCopy copy) {
        device.makeCurrent();
        device.synchronize();
        copy.free();
    }

    private Weights base(TensorId id) {
        if (id.layer() < 0 || id.layer() >= cfg.nLayers()) {
            throw new IllegalArgumentException("tensor " + id + ": the model has " + cfg.nLayers() + " layers");
        }
        return weights.layers.get(id.layer()).slot(id.kind()).weights();
    }

    private static long tensorBytes(Weights w) {
        return w.type().bytesFor((long) w.rows() * w.cols());
    }

    private static void checkTargets(TensorId id, Weights base, List<WeightedTarget> targets) {
        for (WeightedTarget w : targets) {
            LoraTarget t = w.target();
            if (t.out() != base.rows() || t.in() != base.cols()) {
                throw new IllegalArgumentException(t.describe() + " is [" + t.out() + " x " + t.in() + "] but tensor "
                        + id + " is [" + base.rows() + " x " + base.cols() + "]");
            }
        }
    }

    /** sha256 of the device copy of every base tensor, read back (the base is never written). */
    public Map<String, byte[]> baseTensorDigests() {
        device.makeCurrent();
        return weights.digests();
    }

    @Override
    public void close() {
        executor.close();
        pool.close();
    }
}
