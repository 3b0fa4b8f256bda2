package dev.loracle.runtime.engine;

import dev.loracle.runtime.lora.LoraMath;
import dev.loracle.runtime.lora.ProjectionKind;
import dev.loracle.runtime.memory.Reservation;
import dev.loracle.runtime.tensor.QuantizedTensor;
import java.lang.foreign.Arena;
import java.util.List;
import java.util.Set;

/** CPU overlay: working copies (MERGED, off-heap in their own arena) or low-rank operands (UNMERGED), by [layer][kind]. */
final class CpuOverlay implements WeightOverlay {
    private final AttachMode mode;
    private final Set<TensorId> tensors;
    final QuantizedTensor[][] merged;
    final LoraMath.UnmergedDelta[][] lowRank;
    private final Arena arena;
    private final Reservation reservation;
    private volatile boolean released;

    CpuOverlay(AttachMode mode, Set<TensorId> tensors, QuantizedTensor[][] merged, LoraMath.UnmergedDelta[][] lowRank,
               Arena arena, Reservation reservation) {
        this.mode = mode;
        this.tensors = Set.copyOf(tensors);
        this.merged = merged;
        this.lowRank = lowRank;
        this.arena = arena;
        this.reservation = reservation;
    }

    QuantizedTensor tensor(int layer, ProjectionKind kind, QuantizedTensor base) {
        if (merged == null) return base;
        QuantizedTensor t = merged[layer][kind.ordinal()];
        return t != null ? t : base;
    }

    LoraMath.UnmergedDelta deltas(int layer, ProjectionKind kind) {
        return lowRank == null ? null : lowRank[layer][kind.ordinal()];
    }

    @Override public AttachMode mode() { return mode; }
    @Override public Set<TensorId> tensors() { return tensors; }
    @Override public long bytes() { return reservation.bytes(); }
    @Override public boolean released() { return released; }

    synchronized void release() {
        if (released) return;
        released = true;
        if (arena != null) arena.close();
        reservation.close();
    }
}
