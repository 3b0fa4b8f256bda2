package dev.loracle.oracle.session;

import dev.loracle.oracle.TestModels;
import dev.loracle.runtime.engine.GenerationRequest;
import dev.loracle.runtime.engine.GenerationResult;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.engine.SequenceRequest;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A conversation on stories260K served turn by turn on the canonical history: with the prefix cache each turn prefills
 * only what its cached prefix does not cover, the blocks reused are exactly those whose tokens equal the canonical
 * ones (where a re-encoded output differs from the generated ids, reuse stops at that block), and the tokens equal a
 * full recompute of every turn on an engine without a cache.
 */
class CanonicalHistoryEngineTest {
    private static final List<String> PROMPTS = List.of("Once upon a time", "\nTom said:", " The sun came out.",
            "\nThen", " Lily asked why.");

    private static InferenceEngine engine(boolean prefixCache) {
        return InferenceEngine.open(TestModels.stories260K().withPrefixCache(prefixCache));
    }

    private record Turn(int[] prompt, GenerationResult result) {
    }

    private static List<Turn> converse(InferenceEngine engine, boolean cachePrefix) {
        List<Turn> turns = new ArrayList<>();
        int[] history = new int[0];
        for (String p : PROMPTS) {
            int[] prompt = CanonicalHistory.withPrompt(engine.tokenizer(), history, p);
            GenerationRequest params = new GenerationRequest(p, 20, 0.7f, 0.9f, 42);
            GenerationResult r = engine.submit(SequenceRequest.of(params).withPromptTokens(prompt).withCachePrefix(cachePrefix))
                    .result().join();
            turns.add(new Turn(prompt, r));
            history = CanonicalHistory.withOutput(engine.tokenizer(), prompt, r.text());
        }
        return turns;
    }

    @Test
    void prefixReuseFollowsTheCanonicalTokensAndChangesNoToken() {
        List<Turn> cached;
        List<Turn> recomputed;
        try (InferenceEngine e = engine(true)) {
            cached = converse(e, true);
        }
        try (InferenceEngine e = engine(false)) {
            recomputed = converse(e, false);
        }
        int reusedTotal = 0;
        for (int k = 0; k < PROMPTS.size(); k++) {
            Turn c = cached.get(k);
            Turn r = recomputed.get(k);
            assertThat(c.prompt()).as("turn %d history", k).containsExactly(r.prompt());
            assertThat(c.result().tokens()).as("turn %d tokens", k).containsExactly(r.result().tokens());
            assertThat(c.result().text()).isEqualTo(r.result().text());
            assertThat(r.result().reusedPromptTokens()).isZero();
            if (k == 0) {
                assertThat(c.result().reusedPromptTokens()).isZero();
                continue;
            }
            // what the previous turn left in the cache: its prompt and generated ids, whole blocks only
            Turn prev = cached.get(k - 1);
            int[] computedBefore = SessionHistoryTest.concat(prev.prompt(), prev.result().tokens());
            int agree = 0;
            while (agree < Math.min(computedBefore.length - 1, c.prompt().length) && computedBefore[agree] == c.prompt()[agree]) agree++;
            int cap = (c.prompt().length - 1) / 16 * 16; // at least one prompt token is always computed
            int reused = c.result().reusedPromptTokens();
            assertThat(reused % 16).as("whole blocks").isZero();
            assertThat(reused).as("turn %d never reuses a block past the first canonical difference", k)
                    .isLessThanOrEqualTo(Math.min(agree / 16 * 16, cap));
            assertThat(reused).as("turn %d reuses every whole block the previous turn computed on canonical tokens", k)
                    .isGreaterThanOrEqualTo(Math.min(Math.min(agree, computedBefore.length - 1) / 16 * 16, cap));
            System.out.printf("[session] turn %d: prompt %d tokens, reused %d, canonical agrees with the computed ids for %d of %d%n",
                    k, c.prompt().length, reused, agree, computedBefore.length);
            reusedTotal += c.result().reusedPromptTokens();
        }
        assertThat(reusedTotal).as("later turns prefill only their new tokens").isGreaterThan(0);
    }
}
