package dev.loracle.runtime.model;

/** A model or tokenizer file is malformed or uses something this runtime does not support. */
public class ModelFormatException extends RuntimeException {
    public ModelFormatException(String message) {
        super(message);
    }

    public ModelFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
