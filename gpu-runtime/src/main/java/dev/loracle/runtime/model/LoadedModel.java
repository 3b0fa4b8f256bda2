package dev.loracle.runtime.model;

import dev.loracle.runtime.chat.ChatTemplate;
import dev.loracle.runtime.tokenizer.Tokenizer;
import java.util.Objects;
import java.util.Optional;

/**
 * Weights (as the engine will hold them) plus the tokenizer and the chat template the file carries (empty when none),
 * with a one-line description of where they came from.
 */
public record LoadedModel(LlamaWeights weights, Tokenizer tokenizer, Optional<ChatTemplate> chatTemplate, String description) {
    public LoadedModel {
        Objects.requireNonNull(chatTemplate, "chatTemplate");
    }

    /** A model without a chat template. */
    public LoadedModel(LlamaWeights weights, Tokenizer tokenizer, String description) {
        this(weights, tokenizer, Optional.empty(), description);
    }
}
