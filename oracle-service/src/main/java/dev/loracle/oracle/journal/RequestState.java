package dev.loracle.oracle.journal;

import java.util.EnumSet;
import java.util.Set;

/**
 * Life cycle of a request in the journal. The happy path is RECEIVED -> FETCHING -> RUNNING -> SUBMITTED -> CONFIRMED ->
 * UNLOADED; FAILED, CANCELLED and EXPIRED end it early with a reason. API requests skip SUBMITTED (RUNNING -> CONFIRMED once
 * the response is delivered).
 */
public enum RequestState {
    RECEIVED, FETCHING, RUNNING, SUBMITTED, CONFIRMED, UNLOADED, FAILED, CANCELLED, EXPIRED;

    private static final Set<RequestState> ENDINGS = EnumSet.of(FAILED, CANCELLED, EXPIRED);

    /** No further work: the request reached UNLOADED or one of the early endings. */
    public boolean isTerminal() {
        return this == UNLOADED || ENDINGS.contains(this);
    }

    /** The guard of every transition: which next states are legal from this one. */
    public boolean canMoveTo(RequestState next) {
        return switch (this) {
            case RECEIVED -> next == FETCHING || ENDINGS.contains(next);
            case FETCHING -> next == RUNNING || next == RECEIVED || ENDINGS.contains(next);
            // RUNNING -> CONFIRMED is the off-chain (API) path: delivered to the client, nothing to submit.
            case RUNNING -> next == SUBMITTED || next == CONFIRMED || next == RECEIVED || ENDINGS.contains(next);
            // SUBMITTED -> RUNNING: the fulfil tx was dropped and the output must be recomputed (e.g. lost journal output).
            case SUBMITTED -> next == CONFIRMED || next == RUNNING || ENDINGS.contains(next);
            case CONFIRMED -> next == UNLOADED;
            // An operator may retry a failed or expired request (admin endpoint).
            case FAILED, EXPIRED -> next == RECEIVED;
            case UNLOADED, CANCELLED -> false;
        };
    }
}
