package dev.loracle.runtime.model;

import dev.loracle.runtime.tokenizer.Tokenizer;

/** Weights (as the engine will hold them) plus the tokenizer, with a one-line description of where they came from. */
public record LoadedModel(LlamaWeights weights, Tokenizer tokenizer, String description) {}
