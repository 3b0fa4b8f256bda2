package dev.loracle.runtime.engine;

/** Why generation stopped: the model produced end-of-sequence (EOS, or BOS as llama2.c treats it), or maxTokens. */
public enum StopReason { EOS, MAX_TOKENS }
