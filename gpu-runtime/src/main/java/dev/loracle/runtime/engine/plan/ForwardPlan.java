package dev.loracle.runtime.engine.plan;

import dev.loracle.runtime.engine.plan.Op.Add;
import dev.loracle.runtime.engine.plan.Op.Attention;
import dev.loracle.runtime.engine.plan.Op.Embed;
import dev.loracle.runtime.engine.plan.Op.HeadRmsNorm;
import dev.loracle.runtime.engine.plan.Op.KvWrite;
import dev.loracle.runtime.engine.plan.Op.Logits;
import dev.loracle.runtime.engine.plan.Op.Project;
import dev.loracle.runtime.engine.plan.Op.RmsNorm;
import dev.loracle.runtime.engine.plan.Op.Rope;
import dev.loracle.runtime.engine.plan.Op.SwiGlu;
import dev.loracle.runtime.lora.ProjectionKind;
import dev.loracle.runtime.model.LlamaWeights;
import dev.loracle.runtime.model.ModelConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The model's forward pass written once, as a list of {@link Op}s over named activations; every backend executes this
 * list (llama.cpp's graph builder, llama2.c's run.c as data). Built from the weights: a qwen2 block gains bias adds, a
 * qwen3 block per-head q/k norms, the RoPE carries the model's pairing, frequency factors and scaling.
 *
 * <pre>
 * x = embed(token)
 * per layer:  xb = rmsnorm(x) ; q,k,v = Wq xb (+bq), Wk xb (+bk), Wv xb (+bv) ; [q,k = headnorm(q), headnorm(k)]
 *             q,k = rope(q), rope(k) ; kvwrite(k, v) ; att = attention(q) ; xb = Wo att ; x += xb
 *             xb = rmsnorm(x) ; hb = Wgate xb ; hb2 = Wup xb ; hb = silu(hb) * hb2 ; xb = Wdown hb ; x += xb
 * logits = classifier(rmsnorm(x))   (rows that want logits only)
 * </pre>
 */
public record ForwardPlan(ModelConfig config, RopeSpec rope, List<Op> ops, Map<String, Integer> widths) {

    public static final String X = "x", XB = "xb", Q = "q", K = "k", V = "v", ATT = "att", HB = "hb", HB2 = "hb2";

    public ForwardPlan {
        ops = List.copyOf(ops);
        widths = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(widths));
    }

    /** Width (floats per row) of activation {@code name}. */
    public int width(String name) {
        Integer w = widths.get(name);
        if (w == null) throw new IllegalArgumentException("no activation '" + name + "' in the plan");
        return w;
    }

    public static ForwardPlan of(LlamaWeights w) {
        ModelConfig c = w.config();
        RopeSpec rope = RopeSpec.of(c, w.ropeFreqs());
        float eps = c.rmsEps();
        List<Op> ops = new ArrayList<>();
        ops.add(new Embed(X, w.tokenEmbedding()));
        for (int l = 0; l < c.nLayers(); l++) {
            LlamaWeights.Layer layer = w.layers().get(l);
            ops.add(new RmsNorm(X, XB, layer.attnNorm(), eps));
            ops.add(project(l, ProjectionKind.Q, XB, Q, layer));
            ops.add(project(l, ProjectionKind.K, XB, K, layer));
            ops.add(project(l, ProjectionKind.V, XB, V, layer));
            if (layer.qNorm() != null) ops.add(new HeadRmsNorm(Q, c.nHeads(), c.headDim(), layer.qNorm(), eps));
            if (layer.kNorm() != null) ops.add(new HeadRmsNorm(K, c.nKvHeads(), c.headDim(), layer.kNorm(), eps));
            ops.add(new Rope(Q, c.nHeads(), rope));
            ops.add(new Rope(K, c.nKvHeads(), rope));
            ops.add(new KvWrite(l, K, V));
            ops.add(new Attention(l, Q, ATT, c.nHeads(), c.nKvHeads(), c.headDim()));
            ops.add(project(l, ProjectionKind.O, ATT, XB, layer));
            ops.add(new Add(X, XB));
            ops.add(new RmsNorm(X, XB, layer.ffnNorm(), eps));
            ops.add(project(l, ProjectionKind.GATE, XB, HB, layer));
            ops.add(project(l, ProjectionKind.UP, XB, HB2, layer));
            ops.add(new SwiGlu(HB, HB2, HB));
            ops.add(project(l, ProjectionKind.DOWN, HB, XB, layer));
            ops.add(new Add(X, XB));
        }
        ops.add(new Logits(X, w.outputNorm(), eps, w.classifier()));
        Map<String, Integer> widths = new LinkedHashMap<>();
        widths.put(X, c.dim());
        widths.put(XB, c.dim());
        widths.put(Q, c.qDim());
        widths.put(K, c.kvDim());
        widths.put(V, c.kvDim());
        widths.put(ATT, c.qDim());
        widths.put(HB, c.hiddenDim());
        widths.put(HB2, c.hiddenDim());
        return new ForwardPlan(c, rope, ops, widths);
    }

    private static Project project(int l, ProjectionKind kind, String in, String out, LlamaWeights.Layer layer) {
        return new Project(l, kind, in, out, layer.projection(kind), layer.bias(kind));
    }
}
