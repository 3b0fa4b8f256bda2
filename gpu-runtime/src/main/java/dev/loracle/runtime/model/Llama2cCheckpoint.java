package dev.loracle.runtime.model;

import dev.loracle.runtime.tensor.GgmlType;
import dev.loracle.runtime.tensor.QuantizedTensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * llama2.c legacy checkpoint: 7 int32 header (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len)
 * followed by F32 tensors, each kind stacked over all layers. A negative vocab_size means the classifier is stored
 * separately at the end (after the unused RoPE tables); otherwise it is the token embedding.
 */
public final class Llama2cCheckpoint {
    private Llama2cCheckpoint() {}

    private static final long HEADER_BYTES = 7 * 4;
    private static final float LLAMA2C_RMS_EPS = 1e-5f;
    private static final float LLAMA2C_ROPE_THETA = 10000f;

    public static LlamaWeights parse(MemorySegment file) {
        if (file.byteSize() < HEADER_BYTES) throw new ModelFormatException("llama2.c checkpoint too short for its header");
        int[] h = file.asSlice(0, HEADER_BYTES).toArray(ValueLayout.JAVA_INT_UNALIGNED);
        boolean shared = h[5] > 0;
        int vocab = Math.abs(h[5]);
        ModelConfig c = new ModelConfig(h[0], h[1], h[2], h[3], h[4], vocab, h[6], LLAMA2C_RMS_EPS, LLAMA2C_ROPE_THETA);
        Cursor cur = new Cursor(file, HEADER_BYTES);
        long dim = c.dim(), hidden = c.hiddenDim(), kvDim = c.kvDim();
        int nl = c.nLayers();
        QuantizedTensor emb = cur.take("token_embd.weight", vocab, dim);
        QuantizedTensor[] attnNorm = cur.takeStack("attn_norm.weight", nl, 1, dim);
        QuantizedTensor[] wq = cur.takeStack("attn_q.weight", nl, dim, dim);
        QuantizedTensor[] wk = cur.takeStack("attn_k.weight", nl, kvDim, dim);
        QuantizedTensor[] wv = cur.takeStack("attn_v.weight", nl, kvDim, dim);
        QuantizedTensor[] wo = cur.takeStack("attn_output.weight", nl, dim, dim);
        QuantizedTensor[] ffnNorm = cur.takeStack("ffn_norm.weight", nl, 1, dim);
        QuantizedTensor[] w1 = cur.takeStack("ffn_gate.weight", nl, hidden, dim);
        QuantizedTensor[] w2 = cur.takeStack("ffn_down.weight", nl, dim, hidden);
        QuantizedTensor[] w3 = cur.takeStack("ffn_up.weight", nl, hidden, dim);
        QuantizedTensor outNorm = cur.take("output_norm.weight", 1, dim);
        cur.skip((long) c.contextLength() * c.headSize() / 2 * 2); // freq_cis_real + freq_cis_imag (unused: RoPE is computed)
        QuantizedTensor cls = shared ? emb : cur.take("output.weight", vocab, dim);
        List<LlamaWeights.Layer> layers = new ArrayList<>();
        for (int i = 0; i < nl; i++) {
            layers.add(new LlamaWeights.Layer(attnNorm[i], wq[i], wk[i], wv[i], wo[i], ffnNorm[i], w1[i], w2[i], w3[i]));
        }
        return new LlamaWeights(c, emb, layers, outNorm, cls);
    }

    private static final class Cursor {
        final MemorySegment file;
        long pos;

        Cursor(MemorySegment file, long pos) {
            this.file = file;
            this.pos = pos;
        }

        void skip(long floats) {
            pos += floats * 4;
        }

        QuantizedTensor take(String name, long rows, long cols) {
            long bytes = Math.multiplyExact(Math.multiplyExact(rows, cols), 4L);
            if (pos + bytes > file.byteSize()) {
                throw new ModelFormatException("llama2.c checkpoint truncated: " + name + " needs bytes [" + pos + ", " + (pos + bytes)
                        + ") but the file has " + file.byteSize());
            }
            QuantizedTensor t = new QuantizedTensor(name, GgmlType.F32, rows, cols, file.asSlice(pos, bytes));
            pos += bytes;
            return t;
        }

        QuantizedTensor[] takeStack(String suffix, int layers, long rows, long cols) {
            QuantizedTensor[] out = new QuantizedTensor[layers];
            for (int i = 0; i < layers; i++) out[i] = take("blk." + i + "." + suffix, rows, cols);
            return out;
        }
    }
}
