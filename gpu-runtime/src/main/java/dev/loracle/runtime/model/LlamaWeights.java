package dev.loracle.runtime.model;

import dev.loracle.runtime.lora.ProjectionKind;
import dev.loracle.runtime.tensor.QuantizedTensor;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tensors of a Llama-family model, named as in GGUF. Matrices are [out x in] (a row is one output).
 * The classifier may be the token embedding itself (llama2.c shared weights). {@code ropeFreqs} (Llama 3.1
 * {@code rope_freqs.weight}, F32 [headDim/2], each RoPE frequency divided by its factor) is null when absent.
 */
public record LlamaWeights(ModelConfig config, QuantizedTensor tokenEmbedding, List<Layer> layers,
                           QuantizedTensor outputNorm, QuantizedTensor classifier, QuantizedTensor ropeFreqs) {

    /**
     * One block. {@code bq, bk, bv} (qwen2: F32 [rows] added after the projection) and {@code qNorm, kNorm} (qwen3:
     * F32 [headDim], RMSNorm of each head before RoPE) are null when the architecture has none.
     */
    public record Layer(QuantizedTensor attnNorm, QuantizedTensor wq, QuantizedTensor wk, QuantizedTensor wv,
                        QuantizedTensor wo, QuantizedTensor ffnNorm, QuantizedTensor gate, QuantizedTensor down,
                        QuantizedTensor up, QuantizedTensor bq, QuantizedTensor bk, QuantizedTensor bv,
                        QuantizedTensor qNorm, QuantizedTensor kNorm) {

        /** A Llama-2-style block: no biases, no per-head norms. */
        public Layer(QuantizedTensor attnNorm, QuantizedTensor wq, QuantizedTensor wk, QuantizedTensor wv,
                     QuantizedTensor wo, QuantizedTensor ffnNorm, QuantizedTensor gate, QuantizedTensor down,
                     QuantizedTensor up) {
            this(attnNorm, wq, wk, wv, wo, ffnNorm, gate, down, up, null, null, null, null, null);
        }

        /** The bias added after {@code kind}'s projection, or null. */
        public QuantizedTensor bias(ProjectionKind kind) {
            return switch (kind) {
                case Q -> bq;
                case K -> bk;
                case V -> bv;
                default -> null;
            };
        }

        public QuantizedTensor projection(ProjectionKind kind) {
            return switch (kind) {
                case Q -> wq;
                case K -> wk;
                case V -> wv;
                case O -> wo;
                case GATE -> gate;
                case UP -> up;
                case DOWN -> down;
            };
        }
    }

    /** Without RoPE frequency factors. */
    public LlamaWeights(ModelConfig config, QuantizedTensor tokenEmbedding, List<Layer> layers,
                        QuantizedTensor outputNorm, QuantizedTensor classifier) {
        this(config, tokenEmbedding, layers, outputNorm, classifier, null);
    }

    public LlamaWeights {
        layers = List.copyOf(layers);
        if (layers.size() != config.nLayers()) throw new ModelFormatException("expected " + config.nLayers() + " layers, got " + layers.size());
        check(tokenEmbedding, config.vocabSize(), config.dim());
        check(classifier, config.vocabSize(), config.dim());
        check(outputNorm, 1, config.dim());
        int kvDim = config.kvDim(), qDim = config.qDim();
        if (ropeFreqs != null) check(ropeFreqs, 1, config.headDim() / 2);
        for (Layer l : layers) {
            check(l.attnNorm, 1, config.dim());
            check(l.ffnNorm, 1, config.dim());
            check(l.wq, qDim, config.dim());
            check(l.wk, kvDim, config.dim());
            check(l.wv, kvDim, config.dim());
            check(l.wo, config.dim(), qDim);
            if (l.bq != null) check(l.bq, 1, qDim);
            if (l.bk != null) check(l.bk, 1, kvDim);
            if (l.bv != null) check(l.bv, 1, kvDim);
            if (l.qNorm != null) check(l.qNorm, 1, config.headDim());
            if (l.kNorm != null) check(l.kNorm, 1, config.headDim());
            check(l.gate, config.hiddenDim(), config.dim());
            check(l.up, config.hiddenDim(), config.dim());
            check(l.down, config.dim(), config.hiddenDim());
        }
    }

    private static void check(QuantizedTensor t, long rows, long cols) {
        if (t.rows() != rows || t.cols() != cols) {
            throw new ModelFormatException("tensor " + t.name() + " has shape " + t.rows() + "x" + t.cols() + ", expected " + rows + "x" + cols);
        }
    }

    public boolean sharedClassifier() { return classifier == tokenEmbedding; }

    public QuantizedTensor projection(int layer, ProjectionKind kind) { return layers.get(layer).projection(kind); }

    /** Every distinct tensor by GGUF name, in file order (the shared classifier appears once). */
    public Map<String, QuantizedTensor> tensors() {
        Map<String, QuantizedTensor> m = new LinkedHashMap<>();
        m.put("token_embd.weight", tokenEmbedding);
        m.put("output_norm.weight", outputNorm);
        if (!sharedClassifier()) m.put("output.weight", classifier);
        if (ropeFreqs != null) m.put("rope_freqs.weight", ropeFreqs);
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            String p = "blk." + i + ".";
            m.put(p + "attn_norm.weight", l.attnNorm);
            m.put(p + "attn_q.weight", l.wq);
            m.put(p + "attn_k.weight", l.wk);
            m.put(p + "attn_v.weight", l.wv);
            m.put(p + "attn_output.weight", l.wo);
            m.put(p + "ffn_norm.weight", l.ffnNorm);
            m.put(p + "ffn_gate.weight", l.gate);
            m.put(p + "ffn_down.weight", l.down);
            m.put(p + "ffn_up.weight", l.up);
            putIfPresent(m, p + "attn_q.bias", l.bq);
            putIfPresent(m, p + "attn_k.bias", l.bk);
            putIfPresent(m, p + "attn_v.bias", l.bv);
            putIfPresent(m, p + "attn_q_norm.weight", l.qNorm);
            putIfPresent(m, p + "attn_k_norm.weight", l.kNorm);
        }
        return Collections.unmodifiableMap(m);
    }

    private static void putIfPresent(Map<String, QuantizedTensor> m, String name, QuantizedTensor t) {
        if (t != null) m.put(name, t);
    }

    /** Bytes of all distinct tensors. */
    public long byteSize() {
        long n = 0;
        for (QuantizedTensor t : tensors().values()) n += t.byteSize();
        return n;
    }

    /** Bytes a decode step reads: every matrix once, the classifier, one embedding row (norms are negligible but counted). */
    public long bytesReadPerToken() {
        long n = byteSize() - tokenEmbedding.byteSize() + tokenEmbedding.rowBytes();
        return sharedClassifier() ? n + classifier.byteSize() : n;
    }
}
