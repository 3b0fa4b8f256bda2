package dev.loracle.runtime.model;

import dev.loracle.runtime.model.ModelConfig.RopeScaling;
import dev.loracle.runtime.model.ModelConfig.RopeStyle;
import dev.loracle.runtime.tensor.QuantizedTensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Builds {@link LlamaWeights} from a parsed GGUF file of a Llama-family architecture: {@code llama} (Llama 2/3,
 * Mistral, TinyLlama; Llama 3.1 {@code rope_freqs}), {@code qwen2} (q/k/v biases, NeoX RoPE) and {@code qwen3}
 * (per-head q/k RMSNorm, NeoX RoPE, head size from {@code attention.key_length}).
 */
public final class GgufLlamaModel {
    private GgufLlamaModel() {}

    /** Architectures whose blocks this engine runs. */
    public static final Set<String> ARCHITECTURES = Set.of("llama", "qwen2", "qwen3");

    public static LlamaWeights weights(GgufFile f) {
        String arch = f.getString("general.architecture");
        if (!ARCHITECTURES.contains(arch)) {
            throw new ModelFormatException("unsupported GGUF architecture '" + arch + "' (supported: llama, qwen2, qwen3)");
        }
        int dim = (int) f.getLong(arch + ".embedding_length");
        int nHeads = (int) f.getLong(arch + ".attention.head_count");
        int headDim = (int) f.getLong(arch + ".attention.key_length", dim / nHeads);
        long valueLength = f.getLong(arch + ".attention.value_length", headDim);
        if (valueLength != headDim) throw new ModelFormatException("attention.value_length " + valueLength + " != key_length " + headDim + " is not supported");
        int vocab;
        Object tokens = f.metadata().get("tokenizer.ggml.tokens");
        if (tokens instanceof String[] t) vocab = t.length;
        else vocab = (int) f.tensor("token_embd.weight").rows();
        int ropeDims = (int) f.getLong(arch + ".rope.dimension_count", headDim);
        if (ropeDims != headDim) throw new ModelFormatException("partial RoPE (rope.dimension_count " + ropeDims + " of head size " + headDim + ") is not supported");
        ModelConfig c = new ModelConfig(arch, dim,
                (int) f.getLong(arch + ".feed_forward_length"),
                (int) f.getLong(arch + ".block_count"),
                nHeads,
                (int) f.getLong(arch + ".attention.head_count_kv", nHeads),
                headDim,
                vocab,
                (int) f.getLong(arch + ".context_length"),
                (float) f.getDouble(arch + ".attention.layer_norm_rms_epsilon", 1e-5),
                (float) f.getDouble(arch + ".rope.freq_base", 10000.0),
                arch.equals("llama") ? RopeStyle.ADJACENT : RopeStyle.NEOX,
                ropeScaling(f, arch));
        boolean qwen2 = arch.equals("qwen2"), qwen3 = arch.equals("qwen3");
        List<LlamaWeights.Layer> layers = new ArrayList<>();
        for (int i = 0; i < c.nLayers(); i++) {
            String p = "blk." + i + ".";
            layers.add(new LlamaWeights.Layer(
                    f.tensor(p + "attn_norm.weight"), f.tensor(p + "attn_q.weight"), f.tensor(p + "attn_k.weight"),
                    f.tensor(p + "attn_v.weight"), f.tensor(p + "attn_output.weight"), f.tensor(p + "ffn_norm.weight"),
                    f.tensor(p + "ffn_gate.weight"), f.tensor(p + "ffn_down.weight"), f.tensor(p + "ffn_up.weight"),
                    qwen2 ? f.tensor(p + "attn_q.bias") : absent(f, p + "attn_q.bias", arch),
                    qwen2 ? f.tensor(p + "attn_k.bias") : absent(f, p + "attn_k.bias", arch),
                    qwen2 ? f.tensor(p + "attn_v.bias") : absent(f, p + "attn_v.bias", arch),
                    qwen3 ? f.tensor(p + "attn_q_norm.weight") : absent(f, p + "attn_q_norm.weight", arch),
                    qwen3 ? f.tensor(p + "attn_k_norm.weight") : absent(f, p + "attn_k_norm.weight", arch)));
        }
        var emb = f.tensor("token_embd.weight");
        var cls = f.has("output.weight") ? f.tensor("output.weight") : emb;
        var ropeFreqs = f.has("rope_freqs.weight") ? f.tensor("rope_freqs.weight") : null;
        return new LlamaWeights(c, emb, layers, f.tensor("output_norm.weight"), cls, ropeFreqs);
    }

    /**
     * Whether llama.cpp's Hugging Face converter wrote this file, permuting Q/K rows into adjacent RoPE pairs: a
     * {@code llama} file with the provenance keys {@code convert_hf_to_gguf} / {@code llama-quantize} write. The llama2.c
     * converter writes none of them (and its files keep llama2.c's order); qwen2/qwen3 files are never permuted.
     */
    public static boolean qkPermutedFromHf(GgufFile f) {
        if (!"llama".equals(f.metadata().get("general.architecture"))) return false;
        for (String k : new String[] {"general.file_type", "general.quantization_version", "general.basename", "general.size_label", "general.type"}) {
            if (f.metadata().containsKey(k)) return true;
        }
        return false;
    }

    /** A tensor this architecture does not use must not be there: ignoring it would silently change the model. */
    private static QuantizedTensor absent(GgufFile f, String name, String arch) {
        if (f.has(name)) throw new ModelFormatException("tensor " + name + " is not used by architecture '" + arch + "'");
        return null;
    }

    private static RopeScaling ropeScaling(GgufFile f, String arch) {
        String type = f.metadata().containsKey(arch + ".rope.scaling.type")
                ? f.getString(arch + ".rope.scaling.type").toLowerCase(Locale.ROOT) : "none";
        float factor = (float) f.getDouble(arch + ".rope.scaling.factor", 1.0);
        return switch (type) {
            case "none" -> RopeScaling.NONE;
            case "linear" -> factor == 1f ? RopeScaling.NONE : RopeScaling.linear(factor);
            case "yarn" -> new RopeScaling(RopeScaling.Kind.YARN, factor,
                    (int) f.getLong(arch + ".rope.scaling.original_context_length", f.getLong(arch + ".context_length")),
                    (float) f.getDouble(arch + ".rope.scaling.yarn_beta_fast", 32.0),
                    (float) f.getDouble(arch + ".rope.scaling.yarn_beta_slow", 1.0));
            default -> throw new ModelFormatException("unsupported RoPE scaling type '" + type + "' (supported: none, linear, yarn)");
        };
    }
}
