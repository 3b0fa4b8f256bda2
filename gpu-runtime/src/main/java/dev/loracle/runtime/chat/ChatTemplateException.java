package dev.loracle.runtime.chat;

/** A chat template could not be rendered for the given messages (template error, or the template refused them). */
public class ChatTemplateException extends IllegalArgumentException {
    public ChatTemplateException(String message) { super(message); }
}
