package dev.loracle.runtime.conformance;

import dev.loracle.runtime.engine.KvCacheType;
import dev.loracle.runtime.lora.LoraMath.WeightedTarget;
import dev.loracle.runtime.tensor.GgmlType;
import dev.loracle.runtime.tensor.QuantizedTensor;

import java.util.List;

/**
 * The single operations a backend's kernels perform, on host arrays in and out, so that each can be checked against
 * {@link ReferenceOps}. A method returns null when the backend has no separate kernel for it (the CPU backend runs
 * RMSNorm, RoPE, attention and SwiGLU only inside forward(); the golden generation test covers those there).
 */
interface KernelOps extends AutoCloseable {
    /** y = W x. */
    float[] matvec(QuantizedTensor w, float[] x);

    /** Y[n] = W X[n] through the small-batch kernel when the backend has one (else row by row). */
    default float[][] matmul(QuantizedTensor w, float[][] xs) {
        float[][] out = new float[xs.length][];
        for (int i = 0; i < xs.length; i++) out[i] = matvec(w, xs[i]);
        return out;
    }

    /**
     * h[t] = silu(gate . x[t]) * (up . x[t]) through the fused gate/up kernel (gateUp: the gate rows, then the up
     * rows); null when the backend has none.
     */
    default float[][] gateUpSwiglu(QuantizedTensor gateUp, float[][] xs) { return null; }

    /**
     * Rows grouped by adapter set in one launch pair (segmented shrink/expand): ys[t] + sum over setPerRow.get(t)
     * (null = base: unchanged); consecutive rows with the same set object form one segment. Null when the backend
     * has no segmented kernels.
     */
    default float[][] lowRankSegments(float[][] xs, float[][] ys, List<List<WeightedTarget>> setPerRow) { return null; }

    float[] rmsnorm(float[] x, float[] weight, float eps);

    /** {q', k'} rotated at {@code pos}. */
    float[][] rope(float[] q, float[] k, int pos, int headSize, float theta);

    /** Attention of q over positions 0..keys.length-1 (keys/values [t][kvDim]) through a KV cache of type {@code kv}. */
    float[] attention(float[] q, float[][] keys, float[][] values, int nHeads, int nKvHeads, int headSize, KvCacheType kv);

    /** silu(gate) * up. */
    float[] swiglu(float[] gate, float[] up);

    int argmax(float[] x);

    /** x encoded as {@code type} (GGUF layout). */
    byte[] quantize(GgmlType type, float[] x);

    float[] dequantize(GgmlType type, byte[] data, int n);

    /** The MERGED working copy: requantize(dequantize(W) + sum w_i s_i B_i A_i), bytes in W's format. */
    byte[] merge(QuantizedTensor base, List<WeightedTarget> deltas);

    /** y + sum w_i s_i B_i (A_i x) (the UNMERGED path). */
    float[] lowRankAdd(float[] x, float[] y, List<WeightedTarget> deltas);

    @Override
    void close();
}
