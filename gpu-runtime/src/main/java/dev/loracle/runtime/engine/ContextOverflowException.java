package dev.loracle.runtime.engine;

/** The prompt plus the requested tokens do not fit in the model's context. */
public class ContextOverflowException extends IllegalArgumentException {
    private final int promptTokens;
    private final int maxTokens;
    private final int contextLength;

    public ContextOverflowException(int promptTokens, int maxTokens, int contextLength) {
        super("prompt of " + promptTokens + " tokens + maxTokens " + maxTokens + " = " + ((long) promptTokens + maxTokens)
                + " positions exceeds the model's context length of " + contextLength
                + " (shorten the prompt or lower maxTokens to at most " + Math.max(0, contextLength - promptTokens) + ")");
        this.promptTokens = promptTokens;
        this.maxTokens = maxTokens;
        this.contextLength = contextLength;
    }

    public int promptTokens() { return promptTokens; }
    public int maxTokens() { return maxTokens; }
    public int contextLength() { return contextLength; }
}
