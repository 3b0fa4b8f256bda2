package dev.loracle.runtime.model;

import dev.loracle.runtime.chat.ChatTemplate;
import dev.loracle.runtime.lora.LoadOptions;
import dev.loracle.runtime.tokenizer.Tokenizer;
import java.util.Objects;
import java.util.Optional;

/**
 * Weights (as the engine will hold them) plus the tokenizer and the chat template the file carries (empty when none),
 * with a one-line description of where they came from. {@code qkPermutedFromHf}: the file's Q/K rows are Hugging Face's
 * permuted into adjacent RoPE pairs by llama.cpp's converter, so adapters trained on the HF checkpoint need the same
 * permutation ({@link #adapterLoadOptions}).
 */
public record LoadedModel(LlamaWeights weights, Tokenizer tokenizer, Optional<ChatTemplate> chatTemplate, boolean qkPermutedFromHf,
                          String description) {
    public LoadedModel {
        Objects.requireNonNull(chatTemplate, "chatTemplate");
    }

    /** A model without a chat template whose Q/K rows are as trained (llama2.c, random models). */
    public LoadedModel(LlamaWeights weights, Tokenizer tokenizer, String description) {
        this(weights, tokenizer, Optional.empty(), false, description);
    }

    /** How PEFT adapters for this base are loaded: Q/K rows permuted exactly when the base's were. */
    public LoadOptions adapterLoadOptions() {
        ModelConfig c = weights.config();
        return qkPermutedFromHf ? LoadOptions.permuteQkForGguf(c.nHeads(), c.nKvHeads()) : LoadOptions.defaults();
    }
}
