package dev.loracle.runtime.engine;

import java.util.Objects;

/**
 * One generation. temperature 0 = greedy; topP in (0, 1] (1 = no nucleus cut); the seed fixes the sampler's RNG, so
 * the same model, adapters, prompt, parameters and seed give the same tokens on every run.
 */
public record GenerationRequest(String prompt, int maxTokens, float temperature, float topP, long seed) {
    public GenerationRequest {
        Objects.requireNonNull(prompt, "prompt");
        if (maxTokens < 1) throw new IllegalArgumentException("maxTokens must be >= 1, got " + maxTokens);
        if (!Float.isFinite(temperature) || temperature < 0) throw new IllegalArgumentException("temperature must be finite and >= 0, got " + temperature);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
    }

    public static GenerationRequest greedy(String prompt, int maxTokens) {
        return new GenerationRequest(prompt, maxTokens, 0f, 1f, 0L);
    }
}
