package dev.loracle.oracle.session;

/** Where a session turn stands on-chain: requested, fulfilled (part of the history), or ended without an output. */
public enum SessionTurnStatus {
    REQUESTED, FULFILLED, ENDED;

    /** The turn no longer blocks the session's next turn. */
    public boolean ended() {
        return this != REQUESTED;
    }
}
