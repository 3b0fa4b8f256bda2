package dev.loracle.ipfs;

/** A CID string or binary CID that is malformed or uses a codec/hash this module does not accept. */
public final class InvalidCidException extends IllegalArgumentException {
    public InvalidCidException(String message) {
        super(message);
    }
}
