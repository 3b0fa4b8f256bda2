package dev.loracle.runtime.cuda;

import dev.loracle.runtime.engine.DeviceAdapter;
import dev.loracle.runtime.lora.LoraAdapter;
import dev.loracle.runtime.lora.ProjectionKind;

/**
 * An adapter resident on the device: every target's A and B^T in one buffer ({@link ResidentLowRank}, ADAPTER bytes
 * reserved as "adapter:" + id), shared by every sequence that uses it; indexed by (layer, projection) for the step.
 */
final class CudaDeviceAdapter implements DeviceAdapter {
    private final LoraAdapter adapter;
    private final ResidentLowRank resident;
    private final ResidentLowRank.Target[][] targets;
    private final DeviceRuntime device;
    private final Object lock;

    /** {@code lock} serialises the free with the backend's steps (a step in flight may still read the operands). */
    CudaDeviceAdapter(DeviceRuntime device, DeviceMemoryPool pool, LoraAdapter adapter, int layers, Object lock) {
        this.adapter = adapter;
        this.device = device;
        this.lock = lock;
        this.resident = new ResidentLowRank(device, pool, adapter.targets(), "adapter:" + adapter.id());
        this.targets = new ResidentLowRank.Target[layers][ProjectionKind.values().length];
        for (ResidentLowRank.Target t : resident.targets()) {
            if (t.source().layer() >= layers) {
                resident.close();
                throw new IllegalArgumentException(t.source().describe() + " targets layer " + t.source().layer()
                        + " but the model has " + layers);
            }
            targets[t.source().layer()][t.source().kind().ordinal()] = t;
        }
    }

    /** This adapter's operands for (layer, kind), or null where it has no delta. */
    ResidentLowRank.Target target(int layer, ProjectionKind kind) {
        return targets[layer][kind.ordinal()];
    }

    @Override public LoraAdapter adapter() { return adapter; }

    @Override public long bytes() { return resident.bytes(); }

    @Override public boolean closed() { return resident.closed(); }

    @Override
    public void close() {
        synchronized (lock) {
            if (resident.closed()) return;
            device.makeCurrent();
            device.synchronize();
            resident.close();
        }
    }
}
