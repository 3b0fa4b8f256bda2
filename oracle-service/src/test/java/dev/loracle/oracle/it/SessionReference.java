package dev.loracle.oracle.it;

import dev.loracle.oracle.session.CanonicalHistory;
import dev.loracle.runtime.engine.AdapterWeight;
import dev.loracle.runtime.engine.AttachMode;
import dev.loracle.runtime.engine.GenerationRequest;
import dev.loracle.runtime.engine.GenerationResult;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.engine.SequenceRequest;
import dev.loracle.runtime.lora.WeightedAdapter;

import java.util.ArrayList;
import java.util.List;

/**
 * A session conversation replayed directly on an engine without a prefix cache: each turn a full prefill of the
 * canonical history plus its prompt, with the session's sampling. What any node must deliver, turn by turn.
 */
public final class SessionReference {
    /** The replies, and the canonical tokens after each turn (what the head of that turn commits to). */
    public record Replay(List<String> replies, List<int[]> tokensAfter) {
    }

    private SessionReference() {
    }

    public static Replay replay(InferenceEngine engine, List<WeightedAdapter> adapters, AttachMode mode, List<String> prompts,
                                int maxTokens, int temperature, int topP, long seed) {
        List<AdapterWeight> set = new ArrayList<>();
        try {
            for (WeightedAdapter w : adapters) set.add(new AdapterWeight(engine.adapters().load(w.adapter()), w.weight()));
            List<String> replies = new ArrayList<>();
            List<int[]> after = new ArrayList<>();
            int[] history = new int[0];
            for (String p : prompts) {
                int[] prompt = CanonicalHistory.withPrompt(engine.tokenizer(), history, p);
                GenerationRequest params = new GenerationRequest(p, maxTokens, temperature / 10_000f, topP / 10_000f, seed);
                GenerationResult r = engine.submit(SequenceRequest.of(params).withPromptTokens(prompt).withAdapters(set)
                        .withMode(mode).withCachePrefix(false)).result().join();
                replies.add(r.text());
                history = CanonicalHistory.withOutput(engine.tokenizer(), prompt, r.text());
                after.add(history);
            }
            return new Replay(replies, after);
        } finally {
            set.forEach(w -> w.adapter().close());
        }
    }
}
