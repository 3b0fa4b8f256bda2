package dev.loracle.oracle.chain;

/** No configured RPC endpoint could answer (transport errors after retries, or every circuit breaker open). */
public class RpcUnavailableException extends RuntimeException {
    public RpcUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
