package dev.loracle.oracle.journal;

/** A state transition lost the race (the row is no longer in the expected state) or is not allowed by the guard. */
public class StaleStateException extends RuntimeException {
    public StaleStateException(String message) {
        super(message);
    }
}
