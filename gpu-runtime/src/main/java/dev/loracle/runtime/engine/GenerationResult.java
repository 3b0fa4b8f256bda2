package dev.loracle.runtime.engine;

/**
 * Generated text and token ids (prompt excluded; a final EOS is not included), prompt length in tokens, why it stopped,
 * and the time spent on the prompt (prefill) and on the generated tokens (decode).
 */
public record GenerationResult(String text, int[] tokens, int promptTokens, StopReason stopReason, long prefillNanos,
                               long decodeNanos) {
    public double decodeTokensPerSecond() {
        return decodeNanos <= 0 ? 0 : tokens.length * 1e9 / decodeNanos;
    }

    public double prefillTokensPerSecond() {
        return prefillNanos <= 0 ? 0 : promptTokens * 1e9 / prefillNanos;
    }
}
