package dev.loracle.runtime.cuda;

import dev.loracle.runtime.engine.plan.ForwardPlan;
import dev.loracle.runtime.engine.plan.Op;
import dev.loracle.runtime.lora.ProjectionKind;

import java.util.List;

/**
 * The CUDA executor runs the plan's layer with fused launches (q/k/v as one matrix, RoPE + KV write in one kernel,
 * gate/up + SwiGLU in one), so it accepts exactly the op sequences it fuses: the llama block with the optional qwen2
 * biases (inside Project) and qwen3 per-head q/k norms. Anything else is refused at load with the offending op,
 * instead of being silently run wrong.
 */
final class PlanCheck {
    private PlanCheck() {}

    static void requireSupported(ForwardPlan plan) {
        List<Op> ops = plan.ops();
        int i = 0;
        expect(ops, i++, Op.Embed.class, "embed");
        for (int l = 0; l < plan.config().nLayers(); l++) {
            i = expect(ops, i, Op.RmsNorm.class, "attention norm of layer " + l);
            for (ProjectionKind k : List.of(ProjectionKind.Q, ProjectionKind.K, ProjectionKind.V)) i = project(ops, i, l, k);
            if (i < ops.size() && ops.get(i) instanceof Op.HeadRmsNorm h && h.x().equals(ForwardPlan.Q)) i++;
            if (i < ops.size() && ops.get(i) instanceof Op.HeadRmsNorm h && h.x().equals(ForwardPlan.K)) i++;
            i = expect(ops, i, Op.Rope.class, "RoPE of q in layer " + l);
            i = expect(ops, i, Op.Rope.class, "RoPE of k in layer " + l);
            i = expect(ops, i, Op.KvWrite.class, "KV write of layer " + l);
            i = expect(ops, i, Op.Attention.class, "attention of layer " + l);
            i = project(ops, i, l, ProjectionKind.O);
            i = expect(ops, i, Op.Add.class, "attention residual of layer " + l);
            i = expect(ops, i, Op.RmsNorm.class, "FFN norm of layer " + l);
            i = project(ops, i, l, ProjectionKind.GATE);
            i = project(ops, i, l, ProjectionKind.UP);
            i = expect(ops, i, Op.SwiGlu.class, "SwiGLU of layer " + l);
            i = project(ops, i, l, ProjectionKind.DOWN);
            i = expect(ops, i, Op.Add.class, "FFN residual of layer " + l);
        }
        i = expect(ops, i, Op.Logits.class, "logits");
        if (i != ops.size()) throw unsupported(ops, i, "nothing after the logits");
        for (Op op : ops) {
            if (op instanceof Op.Project p && p.bias() != null && !List.of(ProjectionKind.Q, ProjectionKind.K, ProjectionKind.V).contains(p.kind())) {
                throw new UnsupportedOperationException("the CUDA executor adds biases to q, k and v only, not to " + p.kind());
            }
        }
    }

    private static int project(List<Op> ops, int i, int layer, ProjectionKind kind) {
        int next = expect(ops, i, Op.Project.class, kind + " projection of layer " + layer);
        Op.Project p = (Op.Project) ops.get(i);
        if (p.layer() != layer || p.kind() != kind) throw unsupported(ops, i, kind + " projection of layer " + layer);
        return next;
    }

    private static int expect(List<Op> ops, int i, Class<? extends Op> type, String what) {
        if (i >= ops.size() || !type.isInstance(ops.get(i))) throw unsupported(ops, i, what);
        return i + 1;
    }

    private static UnsupportedOperationException unsupported(List<Op> ops, int i, String expected) {
        return new UnsupportedOperationException("the CUDA executor cannot run this plan: op " + i + " is "
                + (i < ops.size() ? ops.get(i) : "missing") + " where it expects the " + expected);
    }
}
