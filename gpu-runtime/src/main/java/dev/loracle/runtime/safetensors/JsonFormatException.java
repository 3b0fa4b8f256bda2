package dev.loracle.runtime.safetensors;

/** Malformed or over-limit JSON; the message gives the byte offset. */
public class JsonFormatException extends RuntimeException {
    public JsonFormatException(String message) {
        super(message);
    }
}
