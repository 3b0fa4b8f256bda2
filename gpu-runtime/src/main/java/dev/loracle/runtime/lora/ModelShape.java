package dev.loracle.runtime.lora;

import java.util.Objects;

/**
 * The shapes a LoRA adapter must agree with. Projections are stored [out x in] (row = output):
 * q, o: dim x dim; k, v: kvDim x dim; gate, up: hiddenDim x dim; down: dim x hiddenDim.
 */
public record ModelShape(String architecture, int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads,
                         int vocabSize) {

    /** Architecture name of Llama-family models (GGUF {@code general.architecture}; llama2.c checkpoints too). */
    public static final String LLAMA = "llama";

    public ModelShape {
        Objects.requireNonNull(architecture, "architecture");
        if (dim <= 0 || hiddenDim <= 0 || nLayers <= 0 || nHeads <= 0 || nKvHeads <= 0 || vocabSize <= 0) {
            throw new IllegalArgumentException("model shape dimensions must be positive: dim=" + dim + " hiddenDim="
                    + hiddenDim + " nLayers=" + nLayers + " nHeads=" + nHeads + " nKvHeads=" + nKvHeads
                    + " vocabSize=" + vocabSize);
        }
        if (dim % nHeads != 0) {
            throw new IllegalArgumentException("dim " + dim + " is not a multiple of nHeads " + nHeads);
        }
        if (nHeads % nKvHeads != 0) {
            throw new IllegalArgumentException("nHeads " + nHeads + " is not a multiple of nKvHeads " + nKvHeads);
        }
    }

    /** The stories110M shape (dim 768, hidden 2048, 12 layers, 12 heads, vocab 32000). */
    public static ModelShape stories110M() {
        return new ModelShape(LLAMA, 768, 2048, 12, 12, 12, 32000);
    }

    public int headDim() { return dim / nHeads; }

    public int kvDim() { return headDim() * nKvHeads; }

    /** Rows of the projection's weight (its output size). */
    public int outDim(ProjectionKind k) {
        return switch (k) {
            case Q, O, DOWN -> dim;
            case K, V -> kvDim();
            case GATE, UP -> hiddenDim;
        };
    }

    /** Columns of the projection's weight (its input size). */
    public int inDim(ProjectionKind k) {
        return switch (k) {
            case Q, K, V, O, GATE, UP -> dim;
            case DOWN -> hiddenDim;
        };
    }
}
