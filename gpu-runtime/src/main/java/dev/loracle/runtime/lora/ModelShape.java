package dev.loracle.runtime.lora;

import java.util.Objects;

/**
 * The shapes a LoRA adapter must agree with. Projections are stored [out x in] (row = output):
 * q: qDim x dim; o: dim x qDim; k, v: kvDim x dim; gate, up: hiddenDim x dim; down: dim x hiddenDim, where
 * qDim = nHeads * headDim (dim for Llama and Qwen2; Qwen3 may differ) and kvDim = nKvHeads * headDim.
 */
public record ModelShape(String architecture, int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads,
                         int vocabSize, int headDim) {

    /** Architecture name of Llama-family models (GGUF {@code general.architecture}; llama2.c checkpoints too). */
    public static final String LLAMA = "llama";

    /**
     * Architectures whose blocks use the Llama projection layout ({@code model.layers.N.self_attn.q_proj}, ...), so a
     * PEFT adapter of that layout (named {@link #LLAMA}) applies to any of them.
     */
    public static final java.util.Set<String> LLAMA_LAYOUT = java.util.Set.of("llama", "qwen2", "qwen3");

    /** A Llama-2-style shape: head size dim / nHeads. */
    public ModelShape(String architecture, int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int vocabSize) {
        this(architecture, dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, nHeads > 0 && dim % nHeads == 0 ? dim / nHeads : -1);
    }

    /** Whether an adapter whose targets are named for {@code adapterArchitecture} fits this model's layout. */
    public boolean acceptsAdapterFor(String adapterArchitecture) {
        return adapterArchitecture.equals(architecture)
                || (LLAMA.equals(adapterArchitecture) && LLAMA_LAYOUT.contains(architecture));
    }

    public ModelShape {
        Objects.requireNonNull(architecture, "architecture");
        if (dim <= 0 || hiddenDim <= 0 || nLayers <= 0 || nHeads <= 0 || nKvHeads <= 0 || vocabSize <= 0) {
            throw new IllegalArgumentException("model shape dimensions must be positive: dim=" + dim + " hiddenDim="
                    + hiddenDim + " nLayers=" + nLayers + " nHeads=" + nHeads + " nKvHeads=" + nKvHeads
                    + " vocabSize=" + vocabSize);
        }
        if (headDim <= 0) {
            throw new IllegalArgumentException("head size must be positive (dim " + dim + " is not a multiple of nHeads " + nHeads + "?)");
        }
        if (nHeads % nKvHeads != 0) {
            throw new IllegalArgumentException("nHeads " + nHeads + " is not a multiple of nKvHeads " + nKvHeads);
        }
    }

    /** The stories110M shape (dim 768, hidden 2048, 12 layers, 12 heads, vocab 32000). */
    public static ModelShape stories110M() {
        return new ModelShape(LLAMA, 768, 2048, 12, 12, 12, 32000);
    }

    public int qDim() { return headDim * nHeads; }

    public int kvDim() { return headDim * nKvHeads; }

    /** Rows of the projection's weight (its output size). */
    public int outDim(ProjectionKind k) {
        return switch (k) {
            case Q -> qDim();
            case O, DOWN -> dim;
            case K, V -> kvDim();
            case GATE, UP -> hiddenDim;
        };
    }

    /** Columns of the projection's weight (its input size). */
    public int inDim(ProjectionKind k) {
        return switch (k) {
            case Q, K, V, GATE, UP -> dim;
            case O -> qDim();
            case DOWN -> hiddenDim;
        };
    }
}
