package dev.loracle.runtime.cuda;

import dev.loracle.runtime.cuda.BatchKernels.Weights;
import dev.loracle.runtime.engine.AttachMode;
import dev.loracle.runtime.engine.TensorId;
import dev.loracle.runtime.engine.WeightOverlay;
import dev.loracle.runtime.lora.ProjectionKind;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * A MERGED attach: for each targeted tensor a working copy W' = requantize(W + sum w_i s_i B_i A_i) in the base
 * tensor's device layout (WORKING_COPY), used instead of W for the rows of a merged segment. Release frees them.
 */
final class MergedCopy implements WeightOverlay, StepInput.MergedSet {
    private final String owner;
    private final Map<TensorId, Weights> copies = new HashMap<>();
    private final Map<TensorId, DeviceBuffer> buffers = new HashMap<>();
    private volatile boolean released;

    MergedCopy(String owner) { this.owner = owner; }

    void put(TensorId id, Weights w, DeviceBuffer b) {
        copies.put(id, w);
        buffers.put(id, b);
    }

    @Override
    public Weights weight(int layer, ProjectionKind kind) {
        if (copies.isEmpty()) return null;
        return copies.get(new TensorId(layer, kind));
    }

    @Override public AttachMode mode() { return AttachMode.MERGED; }

    @Override public Set<TensorId> tensors() { return Set.copyOf(copies.keySet()); }

    @Override public long bytes() { return buffers.values().stream().filter(DeviceBuffer::isOpen).mapToLong(DeviceBuffer::bytes).sum(); }

    @Override public boolean released() { return released; }

    /** Frees every working copy (idempotent); the caller has synchronised the stream. */
    void free() {
        if (released) return;
        released = true;
        buffers.values().forEach(DeviceBuffer::close);
    }

    @Override
    public String toString() { return "MergedCopy[" + owner + ", " + copies.size() + " tensors, " + bytes() + " bytes]"; }
}
