package dev.loracle.runtime.model;

import java.util.ArrayList;
import java.util.List;

/** Builds {@link LlamaWeights} from a parsed GGUF file with architecture {@code llama}. */
public final class GgufLlamaModel {
    private GgufLlamaModel() {}

    public static LlamaWeights weights(GgufFile f) {
        String arch = f.getString("general.architecture");
        if (!arch.equals("llama")) throw new ModelFormatException("unsupported GGUF architecture '" + arch + "' (only llama)");
        int dim = (int) f.getLong("llama.embedding_length");
        int nHeads = (int) f.getLong("llama.attention.head_count");
        int vocab;
        Object tokens = f.metadata().get("tokenizer.ggml.tokens");
        if (tokens instanceof String[] t) vocab = t.length;
        else vocab = (int) f.tensor("token_embd.weight").rows();
        int ropeDims = (int) f.getLong("llama.rope.dimension_count", dim / nHeads);
        if (ropeDims != dim / nHeads) throw new ModelFormatException("partial RoPE (rope.dimension_count " + ropeDims + ") is not supported");
        ModelConfig c = new ModelConfig(dim,
                (int) f.getLong("llama.feed_forward_length"),
                (int) f.getLong("llama.block_count"),
                nHeads,
                (int) f.getLong("llama.attention.head_count_kv", nHeads),
                vocab,
                (int) f.getLong("llama.context_length"),
                (float) f.getDouble("llama.attention.layer_norm_rms_epsilon", 1e-5),
                (float) f.getDouble("llama.rope.freq_base", 10000.0));
        List<LlamaWeights.Layer> layers = new ArrayList<>();
        for (int i = 0; i < c.nLayers(); i++) {
            String p = "blk." + i + ".";
            layers.add(new LlamaWeights.Layer(
                    f.tensor(p + "attn_norm.weight"), f.tensor(p + "attn_q.weight"), f.tensor(p + "attn_k.weight"),
                    f.tensor(p + "attn_v.weight"), f.tensor(p + "attn_output.weight"), f.tensor(p + "ffn_norm.weight"),
                    f.tensor(p + "ffn_gate.weight"), f.tensor(p + "ffn_down.weight"), f.tensor(p + "ffn_up.weight")));
        }
        var emb = f.tensor("token_embd.weight");
        var cls = f.has("output.weight") ? f.tensor("output.weight") : emb;
        return new LlamaWeights(c, emb, layers, f.tensor("output_norm.weight"), cls);
    }
}
