package dev.loracle.runtime.safetensors;

/** Malformed or over-limit JSON (from {@link BoundedJsonReader}); the message gives the byte offset. */
public class JsonFormatException extends RuntimeException {
    public JsonFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
