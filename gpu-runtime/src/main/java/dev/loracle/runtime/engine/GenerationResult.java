package dev.loracle.runtime.engine;

/**
 * Generated text and token ids (prompt excluded; a final EOS is not included), prompt length in tokens, why it stopped,
 * the time spent on the prompt (prefill) and on the generated tokens (decode), and how many leading prompt tokens were
 * not computed because their KV rows came from the prefix cache or a snapshot.
 */
public record GenerationResult(String text, int[] tokens, int promptTokens, StopReason stopReason, long prefillNanos,
                               long decodeNanos, int reusedPromptTokens) {
    public GenerationResult(String text, int[] tokens, int promptTokens, StopReason stopReason, long prefillNanos, long decodeNanos) {
        this(text, tokens, promptTokens, stopReason, prefillNanos, decodeNanos, 0);
    }

    public double decodeTokensPerSecond() {
        return decodeNanos <= 0 ? 0 : tokens.length * 1e9 / decodeNanos;
    }

    public double prefillTokensPerSecond() {
        return prefillNanos <= 0 ? 0 : promptTokens * 1e9 / prefillNanos;
    }
}
