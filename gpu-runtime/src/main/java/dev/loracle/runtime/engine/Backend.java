package dev.loracle.runtime.engine;

import dev.loracle.runtime.engine.plan.ForwardPlan;
import dev.loracle.runtime.lora.LoraAdapter;
import dev.loracle.runtime.lora.LoraMath.WeightedTarget;
import dev.loracle.runtime.memory.MemoryBudget;
import dev.loracle.runtime.model.LlamaWeights;
import java.util.List;
import java.util.Map;

/**
 * The seam between the engine (sequences, scheduler, sampling, adapter store, KV block accounting) and a device.
 * A backend owns the residency of the base weights (never written after {@link #loadBase}), executes the
 * {@link ForwardPlan} over a {@link StepBatch}, stores paged KV blocks and resident adapters, and accounts base,
 * adapters and merged copies in its {@link MemoryBudget}. {@link #execute} is called by one thread at a time (the
 * scheduler); {@link #upload}, {@link #mergeInto} and {@link #release} may be called from other threads meanwhile.
 */
public interface Backend extends AutoCloseable {
    /** e.g. "cpu" or "cuda:0"; also the budget's device name. */
    String name();

    /** One line for logs and metrics: device, threads, formats. */
    String description();

    MemoryBudget memory();

    /**
     * How this backend multiplies the base weights, for the numeric profile: "as-loaded" when it runs every matrix in
     * the type it was loaded in, otherwise what it converted (e.g. CUDA requantizes K-quants to Q8_0).
     */
    default String weightNumerics() { return "as-loaded"; }

    /** Makes {@code weights} resident (upload, or adopt the host mapping), reserves BASE_WEIGHTS, builds the plan. Once. */
    void loadBase(LlamaWeights weights);

    /** The plan this backend executes (built from the base weights by {@link #loadBase}). */
    ForwardPlan plan();

    /** Storage for paged KV blocks of {@code type}; bytes are accounted by the engine's block pool, not here. */
    KvBlockStorage createKvStorage(KvCacheType type);

    /**
     * Runs the plan over {@code batch}: writes each row's keys/values into its sequence's blocks of {@code kv}, and
     * returns the logits of the rows that want them, {@code [logitRows x vocab]} row-major in row order (a buffer owned
     * by the backend, valid until the next call). A row's results never depend on the other rows of the batch.
     */
    float[] execute(StepBatch batch, KvBlockStorage kv);

    /** Makes {@code adapter}'s A/B resident; reserves ADAPTER bytes (RedLineExceededException) until closed. */
    DeviceAdapter upload(LoraAdapter adapter);

    /** Peak bytes {@link #mergeInto} would reserve (held plus transient), for the admission pre-check. */
    long mergeBytes(Map<TensorId, List<WeightedTarget>> deltas);

    /**
     * MERGED: for each tensor, a working copy W' = W + sum w_i s_i B_i A_i in the base tensor's format (dequantize,
     * add, requantize). Reserves WORKING_COPY; all or nothing (a failure releases what was made).
     */
    WeightOverlay mergeInto(Map<TensorId, List<WeightedTarget>> deltas, String owner);

    /** Frees a merged copy and its reservation (idempotent). */
    void release(WeightOverlay overlay);

    /** SHA-256 of every resident base tensor's bytes, by GGUF tensor name. */
    Map<String, byte[]> baseTensorDigests();

    @Override
    void close();
}
