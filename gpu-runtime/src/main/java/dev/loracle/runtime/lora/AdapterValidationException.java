package dev.loracle.runtime.lora;

/** An adapter that cannot be used: malformed files, unsupported PEFT features, or a mismatch with the model. */
public class AdapterValidationException extends RuntimeException {
    public AdapterValidationException(String message) {
        super(message);
    }

    public AdapterValidationException(String message, Throwable cause) {
        super(message, cause);
    }
}
