package dev.loracle.runtime.engine;

/**
 * Streaming callback, called once per generated token in order. {@code piece} is the text that token completes:
 * bytes of a code point split over several tokens are held back until it is whole, so pieces concatenate to the text.
 */
@FunctionalInterface
public interface TokenListener {
    void onToken(int token, String piece);

    TokenListener NONE = (t, p) -> {};
}
