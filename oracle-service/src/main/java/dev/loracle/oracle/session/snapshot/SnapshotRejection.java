package dev.loracle.oracle.session.snapshot;

/**
 * A snapshot this node will not use, for a reason the runtime's checks do not cover (the signer, the chain of links,
 * IPFS); {@link #reason()} is the {@code loracle.session.snapshot.rejected} metric's label.
 */
final class SnapshotRejection extends RuntimeException {
    private final String reason;

    SnapshotRejection(String reason, String message) {
        super(message);
        this.reason = reason;
    }

    String reason() {
        return reason;
    }
}
