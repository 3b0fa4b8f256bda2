package dev.loracle.runtime.tokenizer;

import dev.loracle.runtime.model.GgufFile;
import dev.loracle.runtime.model.ModelFormatException;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Text to token ids and back, for the two vocabulary families GGUF files carry: SentencePiece ({@code
 * tokenizer.ggml.model = llama}) and byte-level BPE ({@code gpt2}: Llama 3, Qwen2/2.5/3, Mistral Nemo, ...).
 * Decoding works on bytes ({@link #pieceBytes}) because one code point may span several tokens.
 */
public sealed interface Tokenizer permits SentencePieceTokenizer, BpeTokenizer {

    int vocabSize();

    /** Beginning-of-sequence id, or -1 where the vocabulary has none (Qwen). */
    int bos();

    int eos();

    /** Whether a prompt starts with BOS ({@code tokenizer.ggml.add_bos_token}). */
    boolean addBos();

    /** Every id that ends a generation: EOS, EOT, EOM and the vocabulary's other end-of-turn control tokens. */
    int[] endOfGeneration();

    default boolean isEndOfGeneration(int id) {
        for (int e : endOfGeneration()) if (e == id) return true;
        return false;
    }

    /** The token's text as stored in the vocabulary. */
    String token(int id);

    /**
     * Encodes {@code text}. With {@code parseSpecial}, control tokens written in the text ({@code <|eot_id|>},
     * {@code <|im_start|>}, ...) become their ids; without it they are tokenized as plain text. User-defined tokens
     * are always matched (as llama.cpp does).
     */
    int[] encode(String text, boolean addBos, boolean addEos, boolean parseSpecial);

    /** Encodes plain text (control tokens not parsed). */
    default int[] encode(String text, boolean addBos, boolean addEos) { return encode(text, addBos, addEos, false); }

    /**
     * Encodes {@code text} as it continues a token sequence that is already there: no BOS, and no space prefix at the
     * start (SentencePiece's dummy prefix belongs to the beginning of an input, not to each piece appended to it).
     */
    default int[] encodeContinuation(String text, boolean parseSpecial) { return encode(text, false, false, parseSpecial); }

    /** A prompt as llama.cpp tokenizes it: BOS where the vocabulary asks for it, control tokens parsed. */
    default int[] encodePrompt(String text) { return encode(text, addBos(), false, true); }

    /** The bytes {@code token} stands for after {@code prev} (-1 at the start); control tokens give none. */
    byte[] pieceBytes(int prev, int token);

    /** Decodes a token sequence (the first token is taken to follow nothing). */
    default String decode(int[] tokens) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int prev = -1;
        for (int t : tokens) {
            b.writeBytes(pieceBytes(prev, t));
            prev = t;
        }
        return b.toString(StandardCharsets.UTF_8);
    }

    /** llama2.c {@code tokenizer.bin} (SentencePiece scores). */
    static Tokenizer fromLlama2c(Path path, int vocabSize) {
        return SentencePieceTokenizer.fromLlama2c(path, vocabSize);
    }

    /** The vocabulary in a GGUF file's {@code tokenizer.ggml.*} metadata. */
    static Tokenizer fromGguf(GgufFile f) {
        Object model = f.metadata().get("tokenizer.ggml.model");
        if (model == null || "llama".equals(model)) return SentencePieceTokenizer.fromGguf(f);
        if ("gpt2".equals(model)) return BpeTokenizer.fromGguf(f);
        throw new ModelFormatException("tokenizer model '" + model + "' is not supported (supported: SentencePiece 'llama', byte-level BPE 'gpt2')");
    }
}
