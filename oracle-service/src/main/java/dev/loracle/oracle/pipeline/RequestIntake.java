package dev.loracle.oracle.pipeline;

/** Where freshly journaled requests are announced (the journal row exists already; this only wakes the pipeline). */
public interface RequestIntake {
    void requestJournaled(String requestId);

    /** The consumer cancelled on-chain, or the request's event vanished in a reorg. */
    void requestWithdrawn(String requestId, String reason);

    /** A turn of the session ended on-chain (fulfilled, failed or cancelled): its next turn may be ready. */
    default void sessionTurnEnded(String sessionId) {
    }
}
