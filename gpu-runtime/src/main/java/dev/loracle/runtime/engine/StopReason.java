package dev.loracle.runtime.engine;

/**
 * Why generation stopped: the model produced end-of-sequence (EOS, or BOS as llama2.c treats it), one of the request's
 * extra stop tokens (STOP_TOKEN; it is not part of the output), or maxTokens.
 */
public enum StopReason { EOS, STOP_TOKEN, MAX_TOKENS }
