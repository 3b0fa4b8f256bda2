package dev.loracle.oracle.journal;

/** How a request's prompt is written, as the coordinator's {@code PromptFormat} (ordinal = on-chain value). */
public enum PromptFormat {
    /** Plain text, generated from as it is. */
    RAW,
    /** A JSON list of {@code {"role","content"}} messages, rendered with the model's chat template. */
    CHAT;

    /** The on-chain enum value; an unknown one is an error (the coordinator never emits it). */
    public static PromptFormat ofOnChain(int value) {
        if (value < 0 || value >= values().length) throw new IllegalArgumentException("unknown prompt format " + value);
        return values()[value];
    }
}
