package dev.loracle.runtime.cuda;

import dev.loracle.runtime.engine.AttachMode;
import dev.loracle.runtime.engine.Backend;
import dev.loracle.runtime.engine.KvCache;
import dev.loracle.runtime.engine.KvCacheType;
import dev.loracle.runtime.engine.TensorId;
import dev.loracle.runtime.engine.WeightOverlay;
import dev.loracle.runtime.lora.LoraMath.WeightedTarget;
import dev.loracle.runtime.memory.MemoryBudget;
import dev.loracle.runtime.model.LlamaWeights;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The CUDA backend: the same engine, sampling and adapter bookkeeping as the CPU backend, with the weights, KV
 * caches, working copies and adapter operands in VRAM, accounted in the device's {@link MemoryBudget} ("cuda:0")
 * before every cuMemAlloc. Kernels come from the packaged PTX (driver JIT), launched through JCuda's driver API.
 */
public final class CudaBackend implements Backend {
    private static final System.Logger LOG = System.getLogger(CudaBackend.class.getName());
    private final DeviceRuntime device;
    private final KernelLauncher launcher;
    private final AutoCloseable kernelsOwner;
    private final DeviceMemoryPool pool;
    private final java.util.function.Supplier<String> hardware;
    private final AtomicLong kvIds = new AtomicLong();
    private CudaModel model;
    private dev.loracle.runtime.engine.plan.ForwardPlan plan;

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

    private CudaBackend(DeviceRuntime device, PtxModules modules, MemoryBudget budget, java.util.function.Supplier<String> hardware) {
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

    @Override
    public void loadBase(LlamaWeights weights) {
        if (model != null) throw new IllegalStateException("the base model is already resident on " + device.label());
        long total = device.memGetInfo()[1];
        if (pool.budget().redLine() > total) {
            LOG.log(System.Logger.Level.WARNING, "red line of " + device.label() + " (" + pool.budget().redLine()
                    + " bytes) is above the device's " + total + " bytes: set one below it so that requests fail fast "
                    + "with RedLineExceededException instead of a cuMemAlloc error");
        }
        model = new CudaModel(device, pool, launcher, weights);
        plan = dev.loracle.runtime.engine.plan.ForwardPlan.of(weights);
        LOG.log(System.Logger.Level.INFO, "base model resident on " + device.label() + ": " + pool.budget());
    }

    public long kvCacheBytes(int positions, KvCacheType type) {
        return DeviceKvCache.bytesFor(type, model().config(), positions);
    }

    public KvCache allocateKvCache(int positions, KvCacheType type) {
        return model().newKvCache(positions, type, "kv-cache-" + kvIds.incrementAndGet());
    }

    public float[] forward(int token, int pos, KvCache kv, WeightOverlay overlay, boolean wantLogits) {
        return model().forward(token, pos, deviceCache(kv), overlay, wantLogits);
    }

    public long overlayBytes(Map<TensorId, List<WeightedTarget>> deltas, AttachMode mode) {
        return model().overlayBytes(deltas, mode);
    }

    @Override
    public WeightOverlay mergeInto(Map<TensorId, List<WeightedTarget>> deltas, String owner) {
        return model().mergeInto(deltas, owner);
    }

    public WeightOverlay lowRank(Map<TensorId, List<WeightedTarget>> deltas, String owner) {
        return model().lowRank(deltas, owner);
    }

    // ---- the step seam: pending the CUDA executor of the step plan (wt-cuda)

    private static UnsupportedOperationException pending() {
        return new UnsupportedOperationException("pending CUDA executor of the step plan (wt-cuda)");
    }

    @Override
    public dev.loracle.runtime.engine.plan.ForwardPlan plan() {
        model();
        return plan;
    }

    @Override
    public dev.loracle.runtime.engine.KvBlockStorage createKvStorage(KvCacheType type) { throw pending(); }

    @Override
    public float[] execute(dev.loracle.runtime.engine.StepBatch batch, dev.loracle.runtime.engine.KvBlockStorage kv) { throw pending(); }

    @Override
    public dev.loracle.runtime.engine.DeviceAdapter upload(dev.loracle.runtime.lora.LoraAdapter adapter) { throw pending(); }

    @Override
    public long mergeBytes(Map<TensorId, List<WeightedTarget>> deltas) {
        return model().overlayBytes(deltas, AttachMode.MERGED);
    }

    @Override
    public void release(WeightOverlay overlay) {
        if (overlay == null) return;
        model().release(overlay);
    }

    @Override
    public Map<String, byte[]> baseTensorDigests() {
        return model().baseTensorDigests();
    }

    @Override
    public void close() {
        try {
            if (model != null) model.close();
            pool.close();
            if (kernelsOwner != null) kernelsOwner.close();
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

    private static DeviceKvCache deviceCache(KvCache kv) {
        if (kv instanceof DeviceKvCache d) return d;
        throw new IllegalArgumentException("KV cache " + kv + " was not allocated by the CUDA backend");
    }
}
