package dev.loracle.runtime.cuda;

import dev.loracle.runtime.engine.AttachMode;
import dev.loracle.runtime.engine.TensorId;
import dev.loracle.runtime.engine.WeightOverlay;
import dev.loracle.runtime.lora.LoraMath.WeightedTarget;
import dev.loracle.runtime.lora.LoraTarget;
import dev.loracle.runtime.lora.ProjectionKind;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** An UNMERGED attach: the weighted targets resident once ({@link ResidentLowRank}), added after each base projection. */
final class LowRankOverlay implements WeightOverlay, StepInput.LowRankSet {
    private final ResidentLowRank resident;
    private final Map<TensorId, List<StepInput.Operand>> operands = new HashMap<>();

    LowRankOverlay(DeviceRuntime device, DeviceMemoryPool pool, Map<TensorId, List<WeightedTarget>> deltas, String owner) {
        List<LoraTarget> all = new ArrayList<>();
        for (List<WeightedTarget> l : deltas.values()) for (WeightedTarget w : l) all.add(w.target());
        this.resident = new ResidentLowRank(device, pool, all, owner);
        Map<LoraTarget, ResidentLowRank.Target> byTarget = new IdentityHashMap<>();
        for (ResidentLowRank.Target t : resident.targets()) byTarget.put(t.source(), t);
        for (var e : deltas.entrySet()) {
            List<StepInput.Operand> ops = new ArrayList<>();
            for (WeightedTarget w : e.getValue()) {
                ResidentLowRank.Target t = byTarget.get(w.target());
                ops.add(new StepInput.Operand(t.a(), t.bt(), w.target().rank(), w.weight() * w.target().scale()));
            }
            operands.put(e.getKey(), List.copyOf(ops));
        }
    }

    @Override
    public List<StepInput.Operand> operands(int layer, ProjectionKind kind) {
        return operands.getOrDefault(new TensorId(layer, kind), List.of());
    }

    @Override public AttachMode mode() { return AttachMode.UNMERGED; }

    @Override public Set<TensorId> tensors() { return Set.copyOf(operands.keySet()); }

    @Override public long bytes() { return resident.closed() ? 0 : resident.bytes(); }

    @Override public boolean released() { return resident.closed(); }

    void free() { resident.close(); }
}
