package dev.loracle.runtime.cli;

import dev.loracle.runtime.engine.GenerationRequest;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.engine.SequenceRequest;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * What the conformance goldens record for one prompt, computed on the base model: the prompt's token ids (as
 * llama.cpp tokenizes a prompt), the 8 largest logits at its last position and {@code steps} greedy tokens.
 */
public record PromptProbe(int[] tokens, int[] top8Ids, float[] top8Logits, int[] greedy) {

    public static PromptProbe run(InferenceEngine engine, String prompt, int steps) {
        int[] tokens = engine.tokenizer().encodePrompt(prompt);
        if (tokens.length == 0) throw new IllegalArgumentException("prompt '" + prompt + "' has no tokens");
        float[] logits = engine.logits(null, tokens);
        int[] top = top(logits, 8);
        float[] topLogits = new float[top.length];
        for (int i = 0; i < top.length; i++) topLogits[i] = logits[top[i]];
        // greedy continues through end-of-generation tokens, as the goldens do (llama.cpp generates a fixed count)
        int[] greedy = steps == 0 ? new int[0] : engine.submit(SequenceRequest.of(GenerationRequest.greedy(prompt, steps))
                .withPromptTokens(tokens).withIgnoreEos(true)).result().join().tokens();
        return new PromptProbe(tokens, top, topLogits, greedy);
    }

    /** Ids of the k largest values, largest first (lower id first on ties). */
    static int[] top(float[] v, int k) {
        return IntStream.range(0, v.length).boxed()
                .sorted(Comparator.comparingDouble((Integer i) -> -v[i]).thenComparingInt(i -> i))
                .limit(k).mapToInt(Integer::intValue).toArray();
    }
}
