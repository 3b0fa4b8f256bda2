package dev.loracle.oracle.pipeline;

/**
 * The adapters could not be fetched because this node's IPFS access is down (unreachable endpoints, transport errors,
 * node errors), not because the content is missing or bad: the request is retried, never failed as ADAPTER_NOT_FOUND.
 */
public class AdaptersUnavailableException extends RuntimeException {
    public AdaptersUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
