package dev.loracle.oracle.pipeline;

import dev.loracle.runtime.engine.GenerationRequest;
import dev.loracle.runtime.engine.GenerationResult;
import dev.loracle.runtime.engine.TokenListener;
import dev.loracle.runtime.lora.WeightedAdapter;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;

/**
 * The one seam between the node and the engine: requests go in with their adapters, results come back as futures.
 * {@link BatchedGenerator} makes each job a sequence of the engine's continuous batch.
 */
public interface Generator extends AutoCloseable {

    /**
     * One generation.
     *
     * @param adapterSetKey requests with equal keys use the same adapters (one residency serves them all)
     * @param beforeStart   asked right before the generation starts; false = the request is not wanted any more
     *                      (served elsewhere, cancelled, expired) and the future completes with {@link NotStarted}
     * @param promptTokens  the prompt as token ids (a session turn: its history plus its prompt), or null to encode
     *                      the request's prompt text
     * @param cachePrefix   whether the sequence's KV blocks stay in the engine's prefix cache (session turns)
     */
    record Job(String requestId, String adapterSetKey, List<WeightedAdapter> adapters, List<String> cids,
               GenerationRequest request, TokenListener listener, BooleanSupplier beforeStart, int[] promptTokens,
               boolean cachePrefix) {
        public Job {
            adapters = List.copyOf(adapters);
            cids = List.copyOf(cids);
            promptTokens = promptTokens == null ? null : promptTokens.clone();
        }

        /** An ordinary request: the prompt text is encoded, nothing kept in the prefix cache. */
        public Job(String requestId, String adapterSetKey, List<WeightedAdapter> adapters, List<String> cids,
                   GenerationRequest request, TokenListener listener, BooleanSupplier beforeStart) {
            this(requestId, adapterSetKey, adapters, cids, request, listener, beforeStart, null, false);
        }
    }

    /** The job was dropped by its {@code beforeStart} check; nothing was generated. */
    final class NotStarted extends RuntimeException {
        public NotStarted(String requestId) {
            super(requestId + " was not wanted any more when its turn came", null, false, false);
        }
    }

    /** Queues the job and returns at once. */
    CompletableFuture<GenerationResult> submit(Job job);

    /**
     * The request no longer needs its adapters (confirmed, delivered or failed): their device memory is released once
     * no other unconfirmed request uses them.
     */
    void release(String requestId);

    /** Whether the adapters of {@code adapterSetKey} are resident on the device now. */
    boolean resident(String adapterSetKey);

    /** Jobs waiting to start. */
    int queued();

    @Override
    void close();
}
