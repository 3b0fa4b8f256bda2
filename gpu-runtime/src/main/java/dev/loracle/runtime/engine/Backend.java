package dev.loracle.runtime.engine;

import dev.loracle.runtime.lora.LoraMath.WeightedTarget;
import dev.loracle.runtime.memory.MemoryBudget;
import dev.loracle.runtime.model.LlamaWeights;
import java.util.List;
import java.util.Map;

/**
 * The seam between the shared engine (tokenizer, sampling, attach/detach bookkeeping, validation) and a device's
 * kernels. A backend owns the residency of the base weights (never written after {@link #loadBase}), the forward
 * kernels, the adapter working memory and the accounting of all of it in its {@link MemoryBudget}.
 * Calls are serialised by the engine (one generation or attach at a time).
 */
public interface Backend extends AutoCloseable {
    /** e.g. "cpu" or "cuda:0"; also the budget's device name. */
    String name();

    /** One line for logs and metrics: device, threads, formats. */
    String description();

    MemoryBudget memory();

    /** Makes {@code weights} resident (upload, or adopt the host mapping) and reserves BASE_WEIGHTS. Once. */
    void loadBase(LlamaWeights weights);

    /** Bytes {@link #allocateKvCache} would reserve. */
    long kvCacheBytes(int positions, KvCacheType type);

    /** A KV cache for {@code positions} positions; reserves KV_CACHE or throws RedLineExceededException. */
    KvCache allocateKvCache(int positions, KvCacheType type);

    /**
     * Runs the model for {@code token} at position {@code pos}, storing its keys/values in {@code kv}, with
     * {@code overlay} (null = base) applied. Returns the logits (a buffer owned by the backend, valid until the next
     * call) when {@code wantLogits}, else null (prompt tokens before the last one).
     */
    float[] forward(int token, int pos, KvCache kv, WeightOverlay overlay, boolean wantLogits);

    /**
     * Greedy fast path: the argmax of the logits {@link #forward} would return (lowest id on ties), so a device backend
     * can return one int instead of copying the logits to the host.
     */
    default int forwardArgmax(int token, int pos, KvCache kv, WeightOverlay overlay) {
        float[] logits = forward(token, pos, kv, overlay, true);
        return Sampler.argmax(logits, logits.length);
    }

    /** Peak bytes {@link #mergeInto} / {@link #lowRank} would reserve (held plus transient), for the pre-check. */
    long overlayBytes(Map<TensorId, List<WeightedTarget>> deltas, AttachMode mode);

    /**
     * MERGED: for each tensor, a working copy W' = W + sum w_i s_i B_i A_i in the base tensor's format (dequantize,
     * add, requantize). Reserves WORKING_COPY; all or nothing (a failure releases what was made).
     */
    WeightOverlay mergeInto(Map<TensorId, List<WeightedTarget>> deltas, String owner);

    /** UNMERGED: makes the low-rank operands available to the forward pass. Reserves ADAPTER; all or nothing. */
    WeightOverlay lowRank(Map<TensorId, List<WeightedTarget>> deltas, String owner);

    /** Frees an overlay and its reservations (idempotent). */
    void release(WeightOverlay overlay);

    /** SHA-256 of every resident base tensor's bytes, by GGUF tensor name. */
    Map<String, byte[]> baseTensorDigests();

    @Override
    void close();
}
