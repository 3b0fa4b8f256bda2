package dev.loracle.ipfs;

/**
 * Fetched data does not prove itself: a block that does not hash to its CID, a wrong root, a cycle,
 * a missing block, inconsistent sizes, or an unexpected node type. Never retried against the same endpoint.
 */
public class VerificationException extends IpfsException {
    public VerificationException(String message) {
        super(message);
    }

    public VerificationException(String message, Throwable cause) {
        super(message, cause);
    }
}
