package dev.loracle.oracle.chain;

/** The endpoint could not be reached or gave no usable answer; retried, then the next endpoint is tried. */
public class RpcTransportException extends RuntimeException {
    public RpcTransportException(String message, Throwable cause) {
        super(message, cause);
    }
}
