package dev.loracle.runtime.engine;

/**
 * What a sequence does when its worst-case KV blocks (prompt + maxTokens positions) do not fit under the red line
 * now: WAIT in the queue until running sequences return blocks, or FAIL_FAST with a RedLineExceededException.
 * A sequence that could never fit (more than the red line minus the base) fails in both modes.
 */
public enum Admission { WAIT, FAIL_FAST }
