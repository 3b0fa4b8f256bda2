package dev.loracle.runtime.tokenizer;

import dev.loracle.runtime.model.ModelFormatException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The split rules a byte-level BPE vocabulary names in {@code tokenizer.ggml.pre}: the Hugging Face / llama.cpp
 * regular expressions, applied one after another (each refines the pieces of the previous one; text between matches
 * stays a piece of its own). Java's regex runs them unchanged with {@link Pattern#UNICODE_CHARACTER_CLASS}, which makes
 * {@code \s} Unicode white space as in Rust's regex and llama.cpp.
 *
 * @param name             the pre-tokenizer's name in the GGUF
 * @param ignoreMerges     a piece that is itself a token is emitted whole, without merges (Llama 3's {@code ignore_merges})
 */
public record PreTokenizer(String name, List<Pattern> patterns, boolean ignoreMerges) {

    private static final String CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
    private static final String LLAMA3 = CONTRACTIONS + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String QWEN2 = CONTRACTIONS + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    /** The names this engine knows, as llama.cpp's converter writes them. */
    public static final List<String> KNOWN = List.of("llama3", "llama-bpe", "llama-v3", "qwen2", "deepseek-r1-qwen", "gpt-2", "gpt2", "default");

    public PreTokenizer {
        patterns = List.copyOf(patterns);
    }

    public static PreTokenizer named(String name) {
        String n = name == null ? "default" : name.toLowerCase(Locale.ROOT);
        return switch (n) {
            case "llama3", "llama-bpe", "llama-v3" -> of(n, true, LLAMA3);
            case "qwen2", "deepseek-r1-qwen" -> of(n, false, QWEN2);
            case "gpt-2", "gpt2" -> of(n, false, GPT2);
            // llama.cpp's fallback for BPE vocabularies that name no pre-tokenizer: punctuation runs, then GPT-2, digits
            case "default" -> of(n, false, "[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2.replace("|\\s+(?!\\S)|\\s+", "|\\s+(?!\\S)"),
                    "\\p{N}+", "[0-9][0-9][0-9]");
            default -> throw new ModelFormatException("BPE pre-tokenizer '" + name + "' is not supported (supported: "
                    + String.join(", ", KNOWN) + ")");
        };
    }

    private static PreTokenizer of(String name, boolean ignoreMerges, String... regexes) {
        List<Pattern> ps = new ArrayList<>();
        for (String r : regexes) ps.add(Pattern.compile(r, Pattern.UNICODE_CHARACTER_CLASS));
        return new PreTokenizer(name, ps, ignoreMerges);
    }

    /** The pieces of {@code text}, in order; their concatenation is {@code text}. */
    public List<String> split(String text) {
        List<String> pieces = List.of(text);
        for (Pattern p : patterns) {
            List<String> next = new ArrayList<>();
            for (String piece : pieces) {
                Matcher m = p.matcher(piece);
                int last = 0;
                while (m.find()) {
                    if (m.start() == m.end()) continue;
                    if (m.start() > last) next.add(piece.substring(last, m.start()));
                    next.add(m.group());
                    last = m.end();
                }
                if (last < piece.length()) next.add(piece.substring(last));
            }
            pieces = next;
        }
        return pieces;
    }
}
