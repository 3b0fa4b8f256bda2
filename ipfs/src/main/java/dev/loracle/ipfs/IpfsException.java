package dev.loracle.ipfs;

/** Base of every error this module reports; unchecked so callers can choose where to handle it. */
public class IpfsException extends RuntimeException {
    public IpfsException(String message) {
        super(message);
    }

    public IpfsException(String message, Throwable cause) {
        super(message, cause);
    }
}
