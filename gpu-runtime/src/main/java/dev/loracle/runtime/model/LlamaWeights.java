package dev.loracle.runtime.model;

import dev.loracle.runtime.lora.ProjectionKind;
import dev.loracle.runtime.tensor.QuantizedTensor;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tensors of a Llama model, named as in GGUF. Matrices are [out x in] (a row is one output).
 * The classifier may be the token embedding itself (llama2.c shared weights).
 */
public record LlamaWeights(ModelConfig config, QuantizedTensor tokenEmbedding, List<Layer> layers,
                           QuantizedTensor outputNorm, QuantizedTensor classifier) {

    public record Layer(QuantizedTensor attnNorm, QuantizedTensor wq, QuantizedTensor wk, QuantizedTensor wv,
                        QuantizedTensor wo, QuantizedTensor ffnNorm, QuantizedTensor gate, QuantizedTensor down,
                        QuantizedTensor up) {

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

    public LlamaWeights {
        layers = List.copyOf(layers);
        if (layers.size() != config.nLayers()) throw new ModelFormatException("expected " + config.nLayers() + " layers, got " + layers.size());
        check(tokenEmbedding, config.vocabSize(), config.dim());
        check(classifier, config.vocabSize(), config.dim());
        check(outputNorm, 1, config.dim());
        int kvDim = config.kvDim();
        for (Layer l : layers) {
            check(l.attnNorm, 1, config.dim());
            check(l.ffnNorm, 1, config.dim());
            check(l.wq, config.dim(), config.dim());
            check(l.wk, kvDim, config.dim());
            check(l.wv, kvDim, config.dim());
            check(l.wo, config.dim(), config.dim());
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
        }
        return Collections.unmodifiableMap(m);
    }

    /** Bytes of all distinct tensors. */
    public long byteSize() {
        long n = 0;
        for (QuantizedTensor t : tensors().values()) n += t.byteSize();
        return n;
    }

    /** Bytes a decode step reads: every matrix once, the classifier, one embedding row (norms are negligible but counted). */
    public long bytesReadPerToken() {
        long n = tokenEmbedding.rowBytes() + outputNorm.byteSize() + classifier.byteSize();
        for (Layer l : layers) {
            n += l.attnNorm.byteSize() + l.ffnNorm.byteSize() + l.wq.byteSize() + l.wk.byteSize() + l.wv.byteSize()
                    + l.wo.byteSize() + l.gate.byteSize() + l.up.byteSize() + l.down.byteSize();
        }
        return n;
    }
}
