package dev.loracle.runtime.conformance;

import dev.loracle.runtime.engine.Backend;
import dev.loracle.runtime.engine.AdapterBinding;
import dev.loracle.runtime.engine.StepHarness;
import dev.loracle.runtime.engine.KvCacheType;
import dev.loracle.runtime.engine.TensorId;
import dev.loracle.runtime.lora.LoraMath.WeightedTarget;
import dev.loracle.runtime.lora.LoraTarget;
import dev.loracle.runtime.lora.ProjectionKind;
import dev.loracle.runtime.model.LlamaWeights;
import dev.loracle.runtime.model.ModelConfig;
import dev.loracle.runtime.tensor.GgmlType;
import dev.loracle.runtime.tensor.QuantizedTensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/** Shared inputs of the conformance suite: random tensors and adapters, greedy decoding through a Backend, the golden text. */
final class ConformanceFixtures {
    private ConformanceFixtures() {}

    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    static float[] randomFloats(Random r, int n, float amplitude) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (r.nextFloat() * 2 - 1) * amplitude;
        return x;
    }

    /** A random [rows x cols] tensor stored as {@code type} (quantized with the llama.cpp rule). */
    static QuantizedTensor randomTensor(Arena arena, Random r, GgmlType type, int rows, int cols) {
        byte[] bytes = ReferenceOps.encode(type, randomFloats(r, rows * cols, 1f));
        MemorySegment seg = arena.allocate(bytes.length, 64);
        MemorySegment.copy(MemorySegment.ofArray(bytes), 0, seg, 0, bytes.length);
        return new QuantizedTensor("random." + type, type, rows, cols, seg);
    }

    static LoraTarget randomTarget(Arena arena, Random r, int layer, ProjectionKind kind, int rank, int in, int out,
                                   float scale, float amplitude) {
        MemorySegment a = arena.allocate(4L * rank * in, 64);
        MemorySegment b = arena.allocate(4L * out * rank, 64);
        for (long i = 0; i < (long) rank * in; i++) a.setAtIndex(LoraTarget.F32, i, (r.nextFloat() * 2 - 1) * amplitude);
        for (long i = 0; i < (long) out * rank; i++) b.setAtIndex(LoraTarget.F32, i, (r.nextFloat() * 2 - 1) * amplitude);
        return new LoraTarget(layer, kind, rank, in, out, scale, a, b);
    }

    /**
     * Two adapters as the engine hands them to a backend: adapter 1 (rank 4, alpha/r = 2, weight 0.8) on q,k,v,o of
     * every layer; adapter 2 (rank 8, alpha/r = 1, weight -0.5) on q, v, gate and down of every layer.
     */
    static Map<TensorId, List<WeightedTarget>> twoAdapters(Arena arena, ModelConfig c, long seed) {
        Random r = new Random(seed);
        Map<TensorId, List<WeightedTarget>> m = new LinkedHashMap<>();
        for (int l = 0; l < c.nLayers(); l++) {
            for (ProjectionKind k : List.of(ProjectionKind.Q, ProjectionKind.K, ProjectionKind.V, ProjectionKind.O)) {
                add(m, l, k, new WeightedTarget(randomTarget(arena, r, l, k, 4, in(c, k), out(c, k), 2f, 0.15f), 0.8f));
            }
            for (ProjectionKind k : List.of(ProjectionKind.Q, ProjectionKind.V, ProjectionKind.GATE, ProjectionKind.DOWN)) {
                add(m, l, k, new WeightedTarget(randomTarget(arena, r, l, k, 8, in(c, k), out(c, k), 1f, 0.1f), -0.5f));
            }
        }
        return m;
    }

    /** One rank-8 adapter (alpha/r = 2, weight 1) on q and v of every layer: the attach/detach cycle workload. */
    static Map<TensorId, List<WeightedTarget>> oneAdapterQV(Arena arena, ModelConfig c, long seed) {
        Random r = new Random(seed);
        Map<TensorId, List<WeightedTarget>> m = new LinkedHashMap<>();
        for (int l = 0; l < c.nLayers(); l++) {
            for (ProjectionKind k : List.of(ProjectionKind.Q, ProjectionKind.V)) {
                add(m, l, k, new WeightedTarget(randomTarget(arena, r, l, k, 8, in(c, k), out(c, k), 2f, 0.15f), 1f));
            }
        }
        return m;
    }

    private static void add(Map<TensorId, List<WeightedTarget>> m, int layer, ProjectionKind k, WeightedTarget t) {
        m.computeIfAbsent(new TensorId(layer, k), x -> new ArrayList<>()).add(t);
    }

    static int in(ModelConfig c, ProjectionKind k) { return k == ProjectionKind.DOWN ? c.hiddenDim() : c.dim(); }

    static int out(ModelConfig c, ProjectionKind k) {
        return switch (k) {
            case Q, O, DOWN -> c.dim();
            case K, V -> c.kvDim();
            case GATE, UP -> c.hiddenDim();
        };
    }

    /** The base weights with every touched tensor replaced by the reference merge (double precision, requantized). */
    static LlamaWeights referenceMerged(Arena arena, LlamaWeights w, Map<TensorId, List<WeightedTarget>> deltas) {
        List<LlamaWeights.Layer> layers = new ArrayList<>();
        for (int l = 0; l < w.layers().size(); l++) {
            LlamaWeights.Layer L = w.layers().get(l);
            QuantizedTensor[] p = new QuantizedTensor[ProjectionKind.values().length];
            for (ProjectionKind k : ProjectionKind.values()) {
                QuantizedTensor base = L.projection(k);
                List<WeightedTarget> d = deltas.get(new TensorId(l, k));
                p[k.ordinal()] = d == null ? base : mergedTensor(arena, base, d);
            }
            layers.add(new LlamaWeights.Layer(L.attnNorm(), p[ProjectionKind.Q.ordinal()], p[ProjectionKind.K.ordinal()],
                    p[ProjectionKind.V.ordinal()], p[ProjectionKind.O.ordinal()], L.ffnNorm(),
                    p[ProjectionKind.GATE.ordinal()], p[ProjectionKind.DOWN.ordinal()], p[ProjectionKind.UP.ordinal()]));
        }
        return new LlamaWeights(w.config(), w.tokenEmbedding(), layers, w.outputNorm(), w.classifier());
    }

    static QuantizedTensor mergedTensor(Arena arena, QuantizedTensor base, List<WeightedTarget> d) {
        float[] merged = ReferenceOps.mergedF32(base.type(), base.data(), (int) base.rows(), (int) base.cols(), d);
        byte[] bytes = ReferenceOps.encode(base.type(), merged);
        MemorySegment seg = arena.allocate(bytes.length, 64);
        MemorySegment.copy(MemorySegment.ofArray(bytes), 0, seg, 0, bytes.length);
        return new QuantizedTensor(base.name() + "+ref", base.type(), base.rows(), base.cols(), seg);
    }

    /** Greedy decoding through the step seam: the prompt (with BOS) as one step, then one step per token. */
    static int[] greedy(Backend b, int[] prompt, int steps, AdapterBinding binding, KvCacheType kvType) {
        return StepHarness.greedy(b, prompt, steps, binding, kvType);
    }

    /** Logits after every token of {@code tokens} (teacher-forced, one step). */
    static float[][] logitsAlong(Backend b, int[] tokens, AdapterBinding binding) {
        return StepHarness.logitsAlong(b, tokens, binding);
    }

    static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    /** The llama2.c run.c greedy text for "Once upon a time" from reference-outputs.txt. */
    static String goldenText(Path modelsDir) throws IOException {
        List<String> lines = Files.readAllLines(modelsDir.resolve("reference-outputs.txt"));
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).startsWith("## run.c")) return lines.get(i + 1);
        }
        throw new IllegalStateException("no run.c section in reference-outputs.txt");
    }

    static double maxAbs(float[] x) {
        double m = 0;
        for (float v : x) m = Math.max(m, Math.abs(v));
        return m;
    }

    static double maxAbs(double[] x) {
        double m = 0;
        for (double v : x) m = Math.max(m, Math.abs(v));
        return m;
    }

    static double maxDiff(float[] a, double[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    static double maxDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    static String describe(int[] t) { return Arrays.toString(t); }

    static Set<String> digestsHex(Map<String, byte[]> d) {
        Set<String> s = new java.util.TreeSet<>();
        d.forEach((k, v) -> s.add(k + "=" + java.util.HexFormat.of().formatHex(v)));
        return s;
    }
}
