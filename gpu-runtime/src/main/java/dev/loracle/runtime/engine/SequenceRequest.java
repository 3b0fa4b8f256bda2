package dev.loracle.runtime.engine;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * One sequence to generate: sampling parameters ({@link GenerationRequest}: prompt, maxTokens, temperature, topP,
 * seed), optional prompt token ids (used instead of encoding the prompt text; BOS is not added to them), extra stop
 * token ids, the adapter set (0..8 weighted resident adapters; empty = the base model), the {@link AttachMode}, a
 * streaming listener (may be null), the {@link Admission} policy, whether to ignore EOS (benchmarks) and whether its
 * full KV blocks stay in the prefix cache when it finishes ({@code cachePrefix}, effective only when the engine's
 * prefix cache is on; off for one-shot requests whose prefix will not come back). Immutable; the {@code with...} methods copy.
 * <p>
 * The set's members are applied in a canonical order (adapter id, then weight), so listing order does not change the
 * numbers; the mode does (a MERGED copy is requantized), which is why the engine never switches it on its own.
 */
public record SequenceRequest(GenerationRequest params, int[] promptTokens, int[] stopTokens, List<AdapterWeight> adapters,
                              AttachMode mode, TokenListener listener, Admission admission, boolean ignoreEos,
                              boolean cachePrefix) {

    public static final int MAX_ADAPTERS = 8;

    public SequenceRequest {
        Objects.requireNonNull(params, "params");
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(admission, "admission");
        promptTokens = promptTokens == null ? null : promptTokens.clone();
        stopTokens = stopTokens == null ? new int[0] : stopTokens.clone();
        if (promptTokens != null && promptTokens.length == 0) throw new IllegalArgumentException("prompt tokens must not be empty");
        if (adapters.size() > MAX_ADAPTERS) throw new IllegalArgumentException("at most " + MAX_ADAPTERS + " adapters per sequence, got " + adapters.size());
        List<AdapterWeight> sorted = new ArrayList<>(adapters);
        sorted.sort(Comparator.comparing((AdapterWeight w) -> w.adapter().id()).thenComparing(AdapterWeight::weight));
        adapters = List.copyOf(sorted);
    }

    /** The base model, UNMERGED, no listener, WAIT. */
    public static SequenceRequest of(GenerationRequest params) {
        return new SequenceRequest(params, null, null, List.of(), AttachMode.UNMERGED, null, Admission.WAIT, false, true);
    }

    public SequenceRequest withPromptTokens(int[] t) { return new SequenceRequest(params, t, stopTokens, adapters, mode, listener, admission, ignoreEos, cachePrefix); }
    public SequenceRequest withStopTokens(int... t) { return new SequenceRequest(params, promptTokens, t, adapters, mode, listener, admission, ignoreEos, cachePrefix); }
    public SequenceRequest withAdapters(List<AdapterWeight> a) { return new SequenceRequest(params, promptTokens, stopTokens, a, mode, listener, admission, ignoreEos, cachePrefix); }
    public SequenceRequest withMode(AttachMode m) { return new SequenceRequest(params, promptTokens, stopTokens, adapters, m, listener, admission, ignoreEos, cachePrefix); }
    public SequenceRequest withListener(TokenListener l) { return new SequenceRequest(params, promptTokens, stopTokens, adapters, mode, l, admission, ignoreEos, cachePrefix); }
    public SequenceRequest withCachePrefix(boolean c) { return new SequenceRequest(params, promptTokens, stopTokens, adapters, mode, listener, admission, ignoreEos, c); }
    public SequenceRequest withIgnoreEos(boolean i) { return new SequenceRequest(params, promptTokens, stopTokens, adapters, mode, listener, admission, i, cachePrefix); }
    public SequenceRequest withAdmission(Admission a) { return new SequenceRequest(params, promptTokens, stopTokens, adapters, mode, listener, a, ignoreEos, cachePrefix); }
}
