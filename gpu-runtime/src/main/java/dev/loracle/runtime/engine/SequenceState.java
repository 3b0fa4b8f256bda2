package dev.loracle.runtime.engine;

import java.util.Arrays;
import java.util.List;

/**
 * A sequence as the scheduler tracks it: its prompt, the positions already in its KV blocks ({@link #computed}), the
 * tokens generated so far, its sampler and text, and what it holds (adapter references, merged copy, KV lease) until
 * {@link #release()}.
 */
final class SequenceState {
    final Sequence handle;
    final SequenceRequest request;
    final int[] prompt;
    final List<ResidentAdapter> adapters;   // the sequence's own references, released with it
    final Sampler sampler;
    final Utf8Accumulator utf8 = new Utf8Accumulator();
    final StringBuilder text = new StringBuilder();
    java.util.function.Consumer<float[]> logitsSink;
    java.util.function.Consumer<byte[]> lastBlockSink;   // spot checks: the rows of the last full block computed   // tests and InferenceEngine.logits: each sampled position's logits
    BlockHash prefixRoot;   // null: this sequence neither uses nor feeds the prefix cache
    MergedCopies.Handle merged;
    AdapterBinding binding;
    KvBlockPool.Lease kv;
    int computed, cachedPositions;
    long lastServedStep = -1;
    int[] generated = new int[16];
    int generatedCount;
    long admittedNanos, firstTokenNanos;

    SequenceState(Sequence handle, SequenceRequest request, int[] prompt, List<ResidentAdapter> adapters) {
        this.handle = handle;
        this.request = request;
        this.prompt = prompt;
        this.adapters = adapters;
        GenerationRequest p = request.params();
        this.sampler = new Sampler(p.temperature(), p.topP(), p.seed());
    }

    String owner() { return "sequence-" + handle.id(); }

    /** Positions the sequence may use: prompt plus maxTokens. */
    int worstCasePositions() { return prompt.length + request.params().maxTokens(); }

    /** Hashes of the prompt's full blocks that may come from the cache (at least one prompt token is always computed). */
    java.util.List<BlockHash> prefixHashes() {
        return prefixRoot == null ? java.util.List.of() : prefixRoot.chain(prompt, (prompt.length - 1) / KvBlockStorage.BLOCK_POSITIONS);
    }

    /** Hashes of every full block computed so far (prompt and generated tokens), for the cache. */
    java.util.List<BlockHash> computedBlockHashes() {
        if (prefixRoot == null) return java.util.List.of();
        int[] tokens = new int[computed];
        for (int p = 0; p < computed; p++) tokens[p] = tokenAt(p);
        return prefixRoot.chain(tokens, computed / KvBlockStorage.BLOCK_POSITIONS);
    }

    boolean prefilling() { return computed < prompt.length; }

    /** The token at position {@code computed}: from the prompt, else the last generated one. */
    int tokenAt(int pos) { return pos < prompt.length ? prompt[pos] : generated[pos - prompt.length]; }

    void addGenerated(int token) {
        if (generatedCount == generated.length) generated = Arrays.copyOf(generated, generatedCount * 2);
        generated[generatedCount++] = token;
    }

    int[] generatedTokens() { return Arrays.copyOf(generated, generatedCount); }

    /** Gives back everything the sequence holds (idempotent). */
    void release() {
        if (kv != null) kv.close();
        if (merged != null) merged.close();
        for (ResidentAdapter a : adapters) a.close();
    }
}
