package dev.loracle.ipfs;

/**
 * The node answered an RPC call with an error. {@link #nodeMessage()} is the node's own message
 * (Kubo / js-ipfs JSON {@code {"Message","Code","Type"}}), {@link #statusCode()} the HTTP status.
 */
public class IpfsRpcException extends IpfsException {
    private final int statusCode;
    private final String nodeMessage;
    private final String endpoint;

    public IpfsRpcException(String endpoint, String command, int statusCode, String nodeMessage) {
        super("IPFS node " + endpoint + " rejected " + command + " (HTTP " + statusCode + "): " + nodeMessage);
        this.statusCode = statusCode;
        this.nodeMessage = nodeMessage;
        this.endpoint = endpoint;
    }

    public int statusCode() {
        return statusCode;
    }

    public String nodeMessage() {
        return nodeMessage;
    }

    public String endpoint() {
        return endpoint;
    }

    /** Gateway-style overload/unavailability statuses are worth a retry; a node's 4xx/500 answer is not. */
    public boolean isTransient() {
        return statusCode == 429 || statusCode == 502 || statusCode == 503 || statusCode == 504;
    }
}
