package dev.loracle.oracle.pipeline;

import dev.loracle.oracle.journal.JournalEntry;

/** Observer of one request's generation (the completions API streams through this). */
public interface GenerationEvents {
    void onToken(String piece);

    /** The request finished: output recorded (state RUNNING done) or ended early (FAILED / EXPIRED / CANCELLED). */
    void onDone(JournalEntry entry);
}
