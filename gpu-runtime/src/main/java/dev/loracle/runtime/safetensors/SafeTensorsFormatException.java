package dev.loracle.runtime.safetensors;

/** A safetensors file that violates the format or the configured limits. */
public class SafeTensorsFormatException extends RuntimeException {
    public SafeTensorsFormatException(String message) {
        super(message);
    }

    public SafeTensorsFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
