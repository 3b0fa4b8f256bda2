package dev.loracle.runtime.model;

import dev.loracle.runtime.tensor.GgmlType;
import dev.loracle.runtime.tensor.ParallelRunner;
import dev.loracle.runtime.tensor.QuantizedTensor;
import dev.loracle.runtime.tensor.Quantization;
import dev.loracle.runtime.tokenizer.SentencePieceTokenizer;
import dev.loracle.runtime.tokenizer.Tokenizer;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Random-weight Llama models of a given shape, built directly in the target format off-heap, so that benchmarks of
 * e.g. the 110M or a 1B shape need no download. Weights are uniform in +-1/sqrt(in) (activations stay O(1)), norms 1.
 * The tokenizer is synthetic: control tokens, 256 byte tokens, then "tokN" pieces.
 */
public final class RandomModel {
    private RandomModel() {}

    /** "110m", "1b", or "dim,hidden,layers,heads,kvheads,vocab[,context]". */
    public static ModelConfig parseShape(String spec) {
        String s = spec.trim().toLowerCase(Locale.ROOT);
        return switch (s) {
            case "110m", "stories110m" -> new ModelConfig(768, 2048, 12, 12, 12, 32000, 1024, 1e-5f, 10000f);
            case "1b", "tinyllama-1b" -> new ModelConfig(2048, 5632, 22, 32, 4, 32000, 2048, 1e-5f, 10000f);
            case "260k", "stories260k" -> new ModelConfig(64, 172, 5, 8, 4, 512, 512, 1e-5f, 10000f);
            default -> {
                String[] p = s.split(",");
                if (p.length != 6 && p.length != 7) {
                    throw new IllegalArgumentException("shape must be 110m, 1b, 260k or dim,hidden,layers,heads,kvheads,vocab[,context], got '" + spec + "'");
                }
                int[] v = new int[p.length];
                for (int i = 0; i < p.length; i++) {
                    try {
                        v[i] = Integer.parseInt(p[i].trim());
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("shape component '" + p[i] + "' is not an integer");
                    }
                }
                yield new ModelConfig(v[0], v[1], v[2], v[3], v[4], v[5], p.length == 7 ? v[6] : 1024, 1e-5f, 10000f);
            }
        };
    }

    public static LoadedModel create(ModelConfig c, WeightFormat format, long seed, Arena arena, ParallelRunner pool) {
        GgmlType type = format.type() == null ? GgmlType.F32 : format.type();
        long[] counter = {seed};
        Gen g = new Gen(type, arena, pool, counter);
        List<LlamaWeights.Layer> layers = new ArrayList<>();
        int d = c.dim(), h = c.hiddenDim(), kv = c.kvDim();
        for (int l = 0; l < c.nLayers(); l++) {
            String p = "blk." + l + ".";
            layers.add(new LlamaWeights.Layer(g.ones(p + "attn_norm.weight", d), g.matrix(p + "attn_q.weight", d, d),
                    g.matrix(p + "attn_k.weight", kv, d), g.matrix(p + "attn_v.weight", kv, d), g.matrix(p + "attn_output.weight", d, d),
                    g.ones(p + "ffn_norm.weight", d), g.matrix(p + "ffn_gate.weight", h, d), g.matrix(p + "ffn_down.weight", d, h),
                    g.matrix(p + "ffn_up.weight", h, d)));
        }
        LlamaWeights w = new LlamaWeights(c, g.matrix("token_embd.weight", c.vocabSize(), d), layers,
                g.ones("output_norm.weight", d), g.matrix("output.weight", c.vocabSize(), d));
        return new LoadedModel(w, syntheticTokenizer(c.vocabSize()), "random " + c + " as " + format);
    }

    public static Tokenizer syntheticTokenizer(int vocab) {
        if (vocab < 259) throw new IllegalArgumentException("vocabulary must hold 3 control + 256 byte tokens");
        String[] t = new String[vocab];
        float[] scores = new float[vocab];
        boolean[] control = new boolean[vocab];
        t[0] = "<unk>";
        t[1] = "<s>";
        t[2] = "</s>";
        control[0] = control[1] = control[2] = true;
        for (int b = 0; b < 256; b++) t[3 + b] = String.format("<0x%02X>", b);
        for (int i = 259; i < vocab; i++) t[i] = "tok" + i;
        return new SentencePieceTokenizer(t, scores, control, 1, 2, 0, true);
    }

    private record Gen(GgmlType type, Arena arena, ParallelRunner pool, long[] seed) {
        QuantizedTensor ones(String name, int n) {
            MemorySegment s = arena.allocate(4L * n, 64);
            for (int i = 0; i < n; i++) s.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, i, 1f);
            return new QuantizedTensor(name, GgmlType.F32, 1, n, s);
        }

        QuantizedTensor matrix(String name, int rows, int cols) {
            GgmlType t = cols % type.blockSize() == 0 ? type : GgmlType.F32;
            long rowBytes = t.bytesFor(cols);
            MemorySegment s = arena.allocate(rowBytes * rows, 64);
            float scale = (float) (1.0 / Math.sqrt(cols));
            long base = seed[0];
            seed[0] += 0x9E3779B97F4A7C15L;
            pool.forRange(rows, 16, (r0, r1) -> {
                float[] row = new float[cols];
                for (int r = r0; r < r1; r++) {
                    long x = base ^ (r * 0xD1B54A32D192ED03L) | 1;
                    for (int j = 0; j < cols; j++) {
                        x ^= x << 13;
                        x ^= x >>> 7;
                        x ^= x << 17;
                        row[j] = ((x >>> 40) * 0x1.0p-24f * 2f - 1f) * scale;
                    }
                    Quantization.quantize(t, row, 0, cols, s, r * rowBytes);
                }
            });
            return new QuantizedTensor(name, t, rows, cols, s);
        }
    }
}
