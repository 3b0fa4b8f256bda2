package dev.loracle.runtime.engine;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * One sequence to generate: sampling parameters ({@link GenerationRequest}: prompt, maxTokens, temperature, topP,
 * seed), optional prompt token ids (used instead of encoding the prompt text; BOS is not added to them), extra stop
 * token ids, the adapter set (0..8 weighted resident adapters; empty = the base model), the {@link AttachMode}, a
 * streaming listener (may be null), the {@link Admission} policy and whether to ignore EOS (benchmarks). Immutable; the {@code with...} methods copy.
 * <p>
 * The set's members are applied in a canonical order (adapter id, then weight), so listing order does not change the
 * numbers; the mode does (a MERGED copy is requantized), which is why the engine never switches it on its own.
 */
public record SequenceRequest(GenerationRequest params, int[] promptTokens, int[] stopTokens, List<AdapterWeight> adapters,
                              AttachMode mode, TokenListener listener, Admission admission, boolean ignoreEos) {

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
        return new SequenceRequest(params, null, null, List.of(), AttachMode.UNMERGED, null, Admission.WAIT, false);
    }

    public SequenceRequest withPromptTokens(int[] t) { return new SequenceRequest(params, t, stopTokens, adapters, mode, listener, admission, ignoreEos); }
    public SequenceRequest withStopTokens(int... t) { return new SequenceRequest(params, promptTokens, t, adapters, mode, listener, admission, ignoreEos); }
    public SequenceRequest withAdapters(List<AdapterWeight> a) { return new SequenceRequest(params, promptTokens, stopTokens, a, mode, listener, admission, ignoreEos); }
    public SequenceRequest withMode(AttachMode m) { return new SequenceRequest(params, promptTokens, stopTokens, adapters, m, listener, admission, ignoreEos); }
    public SequenceRequest withListener(TokenListener l) { return new SequenceRequest(params, promptTokens, stopTokens, adapters, mode, l, admission, ignoreEos); }
    public SequenceRequest withIgnoreEos(boolean i) { return new SequenceRequest(params, promptTokens, stopTokens, adapters, mode, listener, admission, i); }
    public SequenceRequest withAdmission(Admission a) { return new SequenceRequest(params, promptTokens, stopTokens, adapters, mode, listener, a, ignoreEos); }
}
