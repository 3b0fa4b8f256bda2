package dev.loracle.runtime.model;

import dev.loracle.runtime.lora.ModelShape;

/** Hyper-parameters of a Llama-architecture model. */
public record ModelConfig(int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int vocabSize,
                          int contextLength, float rmsEps, float ropeTheta) {

    public ModelConfig {
        if (dim <= 0 || hiddenDim <= 0 || nLayers <= 0 || nHeads <= 0 || nKvHeads <= 0 || vocabSize <= 0 || contextLength <= 0) {
            throw new ModelFormatException("bad model hyper-parameters: " + describe(dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, contextLength));
        }
        if (dim % nHeads != 0 || nHeads % nKvHeads != 0 || (dim / nHeads) % 2 != 0) {
            throw new ModelFormatException("inconsistent heads: dim " + dim + ", heads " + nHeads + ", kv heads " + nKvHeads);
        }
    }

    public int headSize() { return dim / nHeads; }
    public int kvDim() { return nKvHeads * headSize(); }
    public int kvMul() { return nHeads / nKvHeads; }

    public ModelShape shape() {
        return new ModelShape(ModelShape.LLAMA, dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize);
    }

    private static String describe(int dim, int hidden, int layers, int heads, int kv, int vocab, int ctx) {
        return "dim=" + dim + " hidden=" + hidden + " layers=" + layers + " heads=" + heads + " kvHeads=" + kv
                + " vocab=" + vocab + " context=" + ctx;
    }
}
