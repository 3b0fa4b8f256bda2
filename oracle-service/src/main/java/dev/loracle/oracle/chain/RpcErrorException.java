package dev.loracle.oracle.chain;

/** The node answered with a JSON-RPC error (a definite answer: not retried, not counted against the endpoint). */
public class RpcErrorException extends RuntimeException {
    private final int code;
    private final String data;

    public RpcErrorException(String method, int code, String message, String data) {
        super(method + " failed: " + message + " (code " + code + (data == null ? "" : ", data " + data) + ")");
        this.code = code;
        this.data = data;
    }

    public int code() {
        return code;
    }

    public String data() {
        return data;
    }

    /** Lower-cased message for classification ("nonce too low", "execution reverted", ...). */
    public String lowerMessage() {
        return getMessage().toLowerCase(java.util.Locale.ROOT);
    }
}
