package dev.loracle.runtime.cuda;

import dev.loracle.runtime.engine.AdapterBinding;
import dev.loracle.runtime.engine.Backend;
import dev.loracle.runtime.engine.DeviceAdapter;
import dev.loracle.runtime.engine.KvBlockStorage;
import dev.loracle.runtime.engine.KvCacheType;
import dev.loracle.runtime.engine.StepBatch;
import dev.loracle.runtime.engine.TensorId;
import dev.loracle.runtime.engine.WeightOverlay;
import dev.loracle.runtime.engine.plan.ForwardPlan;
import dev.loracle.runtime.lora.LoraAdapter;
import dev.loracle.runtime.lora.LoraMath.WeightedTarget;
import dev.loracle.runtime.memory.MemoryBudget;
import dev.loracle.runtime.model.LlamaWeights;

import dev.loracle.runtime.model.WeightConverter;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * The CUDA backend: executes the engine's {@link ForwardPlan} over a {@link StepBatch} with the batched kernels
 * ({@link StepExecutor}), keeps paged KV blocks ({@link DeviceKvBlocks}), resident adapters ({@link CudaDeviceAdapter})
 * and MERGED copies in VRAM, all accounted in the device's {@link MemoryBudget} ("cuda:0") before cuMemAlloc (KV bytes
 * by the engine's block pool). Kernels come from the packaged PTX (driver JIT), launched through JCuda's driver API.
 * Device work is serialised on this object: a step, an upload, a merge and a release never overlap on the stream.
 */
public final class CudaBackend implements Backend {
    private static final System.Logger LOG = System.getLogger(CudaBackend.class.getName());
    private final DeviceRuntime device;
    private final KernelLauncher launcher;
    private final AutoCloseable kernelsOwner;
    private final DeviceMemoryPool pool;
    private final Supplier<String> hardware;
    private CudaModel model;
    /** Host copies of base matrices converted for the device kernels (K-quants as Q8_0); closed with the backend. */
    private final Arena converted = Arena.ofShared();
    private String weightNumerics = "as-loaded";
    private ForwardPlan plan;

    /** Takes ownership of {@code device} (closed with the backend) and loads the packaged PTX into it. */
    public CudaBackend(CudaDevice device, MemoryBudget budget) {
        this(device, new PtxModules(device), budget, () -> {
            long[] info = device.memGetInfo();
            PtxModule ptx = PtxModule.load(PtxModule.MODULE_NAMES.getFirst());
            return device.name() + " (compute " + device.computeCapability() + ", " + device.multiprocessors()
                    + " SMs, " + (info[1] >> 20) + " MiB, driver CUDA " + CudaProbe.probe().driverVersionText()
                    + ", PTX ISA " + ptx.isaMajor() + "." + ptx.isaMinor() + ")";
        });
    }

    private CudaBackend(DeviceRuntime device, PtxModules modules, MemoryBudget budget, Supplier<String> hardware) {
        this.device = Objects.requireNonNull(device, "device");
        this.launcher = modules;
        this.kernelsOwner = modules;
        this.pool = new DeviceMemoryPool(device, budget);
        this.hardware = hardware;
    }

    private CudaBackend(DeviceRuntime device, KernelLauncher launcher, MemoryBudget budget, String hardware) {
        this.device = Objects.requireNonNull(device, "device");
        this.launcher = Objects.requireNonNull(launcher, "launcher");
        this.kernelsOwner = null;
        this.pool = new DeviceMemoryPool(device, budget);
        this.hardware = () -> hardware;
    }

    /**
     * The same backend code on another runtime and launcher: used by the test suite to run the CUDA model code on a
     * host emulation of the kernels (no GPU). Production code uses {@link #CudaBackend(CudaDevice, MemoryBudget)}.
     */
    public static CudaBackend onRuntime(DeviceRuntime runtime, KernelLauncher launcher, MemoryBudget budget, String hardware) {
        return new CudaBackend(runtime, launcher, budget, hardware);
    }

    @Override public String name() { return device.label(); }

    @Override
    public String description() {
        return device.label() + " " + hardware.get();
    }

    @Override public MemoryBudget memory() { return pool.budget(); }

    /** Free and total device memory as the driver reports them (cuMemGetInfo). */
    public long[] deviceMemoryInfo() { return device.memGetInfo(); }

    /** CUDA graph use of the step executor so far, e.g. "graphs 3, captures 3, replays 120". */
    public String graphStats() { return model().graphStats(); }

    @Override
    public synchronized void loadBase(LlamaWeights weights) {
        if (model != null) throw new IllegalStateException("the base model is already resident on " + device.label());
        long total = device.memGetInfo()[1];
        if (pool.budget().redLine() > total) {
            LOG.log(System.Logger.Level.WARNING, "red line of " + device.label() + " (" + pool.budget().redLine()
                    + " bytes) is above the device's " + total + " bytes: set one below it so that requests fail fast "
                    + "with RedLineExceededException instead of a cuMemAlloc error");
        }
        // the device kernels read F32/F16/Q8_0/Q4_0: K-quants (native on the CPU backend) are requantized to Q8_0 here
        LlamaWeights kernelWeights = WeightConverter.requantizeKQuants(weights, converted);
        if (kernelWeights != weights) weightNumerics = "k-quants-as-q8_0";
        weights = kernelWeights;
        ForwardPlan p = ForwardPlan.of(weights);
        PlanCheck.requireSupported(p);
        model = new CudaModel(device, pool, launcher, weights, p.rope());
        plan = p;
        LOG.log(System.Logger.Level.INFO, "base model resident on " + device.label() + ": " + pool.budget());
    }

    @Override
    public ForwardPlan plan() {
        model();
        return plan;
    }

    @Override public String weightNumerics() { return weightNumerics; }

    @Override
    public KvBlockStorage createKvStorage(KvCacheType type) {
        return new DeviceKvBlocks(device, type, model().config(), this);
    }

    @Override
    public synchronized float[] execute(StepBatch batch, KvBlockStorage kv) {
        if (!(kv instanceof DeviceKvBlocks blocks)) throw new IllegalArgumentException("KV storage is not from the CUDA backend");
        int vocab = model().config().vocabSize();
        for (int t : batch.tokens()) {
            if (t < 0 || t >= vocab) throw new IllegalArgumentException("token " + t + " outside vocabulary of " + vocab);
        }
        long[][] addresses = new long[batch.blockTables().length][];
        for (int s = 0; s < addresses.length; s++) {
            int[] ids = batch.blockTables()[s];
            addresses[s] = new long[ids.length];
            for (int i = 0; i < ids.length; i++) addresses[s][i] = blocks.address(ids[i]);
        }
        List<StepInput.Segment> segments = new ArrayList<>();
        for (StepBatch.Segment s : batch.segments()) segments.add(segment(s));
        StepInput in = new StepInput(batch.tokens(), batch.positions(), batch.sequence(), addresses, batch.wantLogits(), segments);
        return model().execute(in, blocks.type());
    }

    private static StepInput.Segment segment(StepBatch.Segment s) {
        return switch (s.binding()) {
            case AdapterBinding.Base b -> new StepInput.Segment(s.start(), s.end(), null, null);
            case AdapterBinding.Merged m -> {
                if (!(m.copy() instanceof MergedCopy c)) throw new IllegalArgumentException("merged copy is not from the CUDA backend");
                if (c.released()) throw new IllegalStateException("merged copy was released");
                yield new StepInput.Segment(s.start(), s.end(), null, c);
            }
            case AdapterBinding.LowRank lr -> new StepInput.Segment(s.start(), s.end(), lowRank(lr), null);
        };
    }

    /** The members' operands per projection, in member order; coef = weight * the target's scale. */
    private static StepInput.LowRankSet lowRank(AdapterBinding.LowRank lr) {
        List<CudaDeviceAdapter> adapters = new ArrayList<>();
        float[] weights = new float[lr.members().size()];
        for (AdapterBinding.LowRankMember m : lr.members()) {
            if (!(m.adapter() instanceof CudaDeviceAdapter a)) throw new IllegalArgumentException("adapter is not resident on the CUDA backend");
            if (a.closed()) throw new IllegalStateException("adapter " + a.adapter().id() + " was released");
            weights[adapters.size()] = m.weight();
            adapters.add(a);
        }
        return (layer, kind) -> {
            List<StepInput.Operand> ops = new ArrayList<>(adapters.size());
            for (int i = 0; i < adapters.size(); i++) {
                ResidentLowRank.Target t = adapters.get(i).target(layer, kind);
                if (t != null) ops.add(new StepInput.Operand(t.a(), t.bt(), t.source().rank(), weights[i] * t.source().scale()));
            }
            return ops;
        };
    }

    @Override
    public synchronized DeviceAdapter upload(LoraAdapter adapter) {
        device.makeCurrent();
        return new CudaDeviceAdapter(device, pool, adapter, model().config().nLayers(), this);
    }

    @Override
    public long mergeBytes(Map<TensorId, List<WeightedTarget>> deltas) {
        return model().mergeBytes(deltas);
    }

    @Override
    public synchronized WeightOverlay mergeInto(Map<TensorId, List<WeightedTarget>> deltas, String owner) {
        return model().mergeInto(deltas, owner);
    }

    @Override
    public synchronized void release(WeightOverlay overlay) {
        if (overlay == null) return;
        if (!(overlay instanceof MergedCopy c)) throw new IllegalArgumentException("overlay " + overlay + " was not made by the CUDA backend");
        model().release(c);
    }

    @Override
    public synchronized Map<String, byte[]> baseTensorDigests() {
        return model().baseTensorDigests();
    }

    @Override
    public synchronized void close() {
        try {
            if (model != null) model.close();
            pool.close();
            if (kernelsOwner != null) kernelsOwner.close();
            converted.close();
        } catch (Exception e) {
            throw new CudaException("closing " + device.label() + " failed", e);
        } finally {
            device.close();
        }
    }

    private CudaModel model() {
        if (model == null) throw new IllegalStateException("no base model loaded on " + device.label() + " (call loadBase first)");
        return model;
    }
}
