package dev.loracle.runtime.engine;

import dev.loracle.runtime.lora.ProjectionKind;
import dev.loracle.runtime.memory.Reservation;
import dev.loracle.runtime.tensor.QuantizedTensor;
import java.lang.foreign.Arena;
import java.util.Set;

/** A MERGED copy on the CPU: working copies (off-heap, in their own arena) by [layer][kind]; the rest is the base. */
final class CpuOverlay implements WeightOverlay {
    private final Set<TensorId> tensors;
    private final QuantizedTensor[][] merged;
    private final Arena arena;
    private final Reservation reservation;
    private volatile boolean released;

    CpuOverlay(Set<TensorId> tensors, QuantizedTensor[][] merged, Arena arena, Reservation reservation) {
        this.tensors = Set.copyOf(tensors);
        this.merged = merged;
        this.arena = arena;
        this.reservation = reservation;
    }

    QuantizedTensor tensor(int layer, ProjectionKind kind, QuantizedTensor base) {
        if (released) throw new IllegalStateException("merged copy was released");
        QuantizedTensor t = merged[layer][kind.ordinal()];
        return t != null ? t : base;
    }

    @Override public AttachMode mode() { return AttachMode.MERGED; }
    @Override public Set<TensorId> tensors() { return tensors; }
    @Override public long bytes() { return reservation.bytes(); }
    @Override public boolean released() { return released; }

    synchronized void release() {
        if (released) return;
        released = true;
        arena.close();
        reservation.close();
    }
}
