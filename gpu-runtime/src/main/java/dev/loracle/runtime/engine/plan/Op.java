package dev.loracle.runtime.engine.plan;

import dev.loracle.runtime.lora.ProjectionKind;
import dev.loracle.runtime.tensor.QuantizedTensor;

/**
 * One operation of the forward pass, over named activations of the step ({@code [tokens x width]} each, width given by
 * {@link ForwardPlan#width}). A row is one token of the step; every op works row by row (attention also reads the
 * sequence's cached keys and values), so a token's numbers never depend on the other rows of the step.
 */
public sealed interface Op {

    /** {@code out[t] = table[token[t]]} (dequantized row). */
    record Embed(String out, QuantizedTensor table) implements Op {}

    /** {@code out = in / sqrt(mean(in^2) + eps) * weight}, per row. {@code in} and {@code out} may be the same. */
    record RmsNorm(String in, String out, QuantizedTensor weight, float eps) implements Op {}

    /**
     * {@code out = W in (+ bias)}, then, for rows whose adapter set is unmerged, {@code out += sum_i c_i B_i (A_i in)}
     * over the set's members that target ({@code layer}, {@code kind}); rows of a MERGED set use the set's merged copy
     * of W instead of W. Each output element is reduced over {@code in} in a fixed order whatever the number of rows.
     */
    record Project(int layer, ProjectionKind kind, String in, String out, QuantizedTensor weight, QuantizedTensor bias)
            implements Op {}

    /** Qwen3 q_norm/k_norm: each of the {@code heads} heads of {@code x} RMS-normalised in place with weight [headDim]. */
    record HeadRmsNorm(String x, int heads, int headDim, QuantizedTensor weight, float eps) implements Op {}

    /** Rotates each of the {@code heads} heads of {@code x} in place by the row's position ({@link RopeSpec}). */
    record Rope(String x, int heads, RopeSpec rope) implements Op {}

    /** Stores rows of {@code k} and {@code v} ([kvDim]) at the row's (sequence, position) in {@code layer}'s paged cache. */
    record KvWrite(int layer, String k, String v) implements Op {}

    /**
     * {@code out} = softmax(q k^T / sqrt(headDim)) v per query head over the row's sequence positions 0..pos (causal),
     * keys/values read from {@code layer}'s paged cache; query head h uses KV head h / (heads / kvHeads).
     */
    record Attention(int layer, String q, String out, int heads, int kvHeads, int headDim) implements Op {}

    /** {@code out = silu(gate) * up}, element-wise. */
    record SwiGlu(String gate, String up, String out) implements Op {}

    /** Residual: {@code x += delta}. */
    record Add(String x, String delta) implements Op {}

    /** Final norm and classifier, only on the rows that want logits: {@code logits = classifier rmsnorm(in)}. */
    record Logits(String in, QuantizedTensor norm, float eps, QuantizedTensor classifier) implements Op {}
}
