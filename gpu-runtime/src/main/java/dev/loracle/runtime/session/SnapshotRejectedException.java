package dev.loracle.runtime.session;

/** A KV snapshot that must not be used; {@link #reason()} names the check it failed (a metric label). */
public final class SnapshotRejectedException extends RuntimeException {
    /** Which check failed. */
    public enum Reason { MALFORMED, OVERSIZED, MISMATCH, UNSIGNED, SPOT_CHECK }

    private final Reason reason;

    public SnapshotRejectedException(Reason reason, String message) {
        super("KV snapshot rejected (" + reason.name().toLowerCase() + "): " + message);
        this.reason = reason;
    }

    public Reason reason() { return reason; }
}
