package dev.loracle.runtime.cuda;

import dev.loracle.runtime.engine.AttachMode;
import dev.loracle.runtime.engine.TensorId;
import dev.loracle.runtime.engine.WeightOverlay;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What one attach put on the device: MERGED working copies that replace base tensors, or UNMERGED low-rank pairs
 * added after the base projection. It owns its device buffers; release frees them all.
 */
public final class DeviceAttachment implements WeightOverlay {
    /** y += coef * B (A x); coef = adapter weight * adapter scale. */
    record LowRank(DeviceBuffer a, DeviceBuffer b, int rank, int in, int out, float coef) {}

    private final AttachMode mode;
    private final String owner;
    private final Map<TensorId, DeviceTensor> workingCopies = new HashMap<>();
    private final Map<TensorId, List<LowRank>> lowRank = new HashMap<>();
    private final List<DeviceBuffer> buffers = new ArrayList<>();
    private boolean released;

    DeviceAttachment(AttachMode mode, String owner) {
        this.mode = mode;
        this.owner = owner;
    }

    @Override public AttachMode mode() { return mode; }

    public String owner() { return owner; }

    @Override
    public Set<TensorId> tensors() {
        return Set.copyOf(mode == AttachMode.MERGED ? workingCopies.keySet() : lowRank.keySet());
    }

    @Override
    public long bytes() { return buffers.stream().filter(DeviceBuffer::isOpen).mapToLong(DeviceBuffer::bytes).sum(); }

    @Override public boolean released() { return released; }

    void putWorkingCopy(TensorId id, DeviceTensor t) {
        workingCopies.put(id, t);
        buffers.add(t.buffer());
    }

    void addLowRank(TensorId id, LowRank lr) {
        lowRank.computeIfAbsent(id, k -> new ArrayList<>()).add(lr);
        buffers.add(lr.a());
        buffers.add(lr.b());
    }

    DeviceTensor weight(TensorId id, DeviceTensor base) {
        return workingCopies.getOrDefault(id, base);
    }

    List<LowRank> lowRank(TensorId id) {
        return lowRank.getOrDefault(id, List.of());
    }

    /** Frees every buffer (idempotent). The caller synchronises the stream first. */
    void free() {
        if (released) return;
        released = true;
        buffers.forEach(DeviceBuffer::close);
    }

    @Override
    public String toString() {
        return "DeviceAttachment[" + owner + " " + mode + ", " + tensors().size() + " tensors, " + bytes() + " bytes]";
    }
}
