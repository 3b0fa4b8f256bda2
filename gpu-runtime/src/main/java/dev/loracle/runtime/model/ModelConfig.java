package dev.loracle.runtime.model;

import dev.loracle.runtime.lora.ModelShape;
import java.util.Objects;

/**
 * Hyper-parameters of a Llama-family model ({@code llama}, {@code qwen2}, {@code qwen3}). {@code headDim} is usually
 * {@code dim / nHeads} but Qwen3 may differ, so the query width is {@link #qDim()}, not {@code dim}.
 */
public record ModelConfig(String architecture, int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int headDim,
                          int vocabSize, int contextLength, float rmsEps, float ropeTheta, RopeStyle ropeStyle,
                          RopeScaling ropeScaling) {

    /** How RoPE pairs the elements of a head. */
    public enum RopeStyle {
        /** (v[2i], v[2i+1]): GGUF llama order (the converter permuted Hugging Face's Q/K rows) and llama2.c. */
        ADJACENT,
        /** (v[i], v[i + headDim/2]): GPT-NeoX order, used unpermuted by qwen2/qwen3. */
        NEOX
    }

    /**
     * Context extension of RoPE frequencies. LINEAR divides positions by {@code factor}; YARN follows the YaRN paper
     * (ramp between {@code betaFast} and {@code betaSlow} over the original context). NONE is the identity.
     */
    public record RopeScaling(Kind kind, float factor, int originalContext, float betaFast, float betaSlow) {
        public enum Kind { NONE, LINEAR, YARN }

        public static final RopeScaling NONE = new RopeScaling(Kind.NONE, 1f, 0, 0f, 0f);

        public RopeScaling {
            Objects.requireNonNull(kind, "kind");
            if (!(factor > 0) || !Float.isFinite(factor)) throw new ModelFormatException("RoPE scaling factor must be > 0, got " + factor);
        }

        public static RopeScaling linear(float factor) { return new RopeScaling(Kind.LINEAR, factor, 0, 0f, 0f); }
    }

    public ModelConfig {
        Objects.requireNonNull(architecture, "architecture");
        Objects.requireNonNull(ropeStyle, "ropeStyle");
        Objects.requireNonNull(ropeScaling, "ropeScaling");
        if (dim <= 0 || hiddenDim <= 0 || nLayers <= 0 || nHeads <= 0 || nKvHeads <= 0 || headDim <= 0 || vocabSize <= 0
                || contextLength <= 0) {
            throw new ModelFormatException("bad model hyper-parameters: " + describe(dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, contextLength)
                    + " headDim=" + headDim);
        }
        if (nHeads % nKvHeads != 0 || headDim % 2 != 0) {
            throw new ModelFormatException("inconsistent heads: dim " + dim + ", heads " + nHeads + ", kv heads " + nKvHeads + ", head dim " + headDim);
        }
    }

    /** A Llama-2-style model: head size dim / nHeads, adjacent-pair RoPE, no scaling. */
    public ModelConfig(int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int vocabSize, int contextLength,
                       float rmsEps, float ropeTheta) {
        this(ModelShape.LLAMA, dim, hiddenDim, nLayers, nHeads, nKvHeads, llamaHeadDim(dim, nHeads), vocabSize, contextLength,
                rmsEps, ropeTheta, RopeStyle.ADJACENT, RopeScaling.NONE);
    }

    private static int llamaHeadDim(int dim, int nHeads) {
        if (nHeads <= 0 || dim % nHeads != 0) throw new ModelFormatException("inconsistent heads: dim " + dim + ", heads " + nHeads);
        return dim / nHeads;
    }

    public int headSize() { return headDim; }
    /** Width of the query projection's output (and the attention output): nHeads * headDim. */
    public int qDim() { return nHeads * headDim; }
    public int kvDim() { return nKvHeads * headDim; }
    public int kvMul() { return nHeads / nKvHeads; }

    public ModelShape shape() {
        return new ModelShape(architecture, dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, headDim);
    }

    private static String describe(int dim, int hidden, int layers, int heads, int kv, int vocab, int ctx) {
        return "dim=" + dim + " hidden=" + hidden + " layers=" + layers + " heads=" + heads + " kvHeads=" + kv
                + " vocab=" + vocab + " context=" + ctx;
    }
}
