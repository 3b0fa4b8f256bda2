package dev.loracle.runtime.tokenizer;

import dev.loracle.runtime.model.GgufFile;
import dev.loracle.runtime.model.ModelFormatException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The special tokens of a vocabulary: BOS/EOS/EOT/EOM ids and {@code add_bos_token} from the GGUF metadata, the
 * end-of-generation set, and the splitting of text at special tokens written in it (longest token first, as
 * llama.cpp's partition does). GGUF token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
 */
final class SpecialTokens {
    static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6;

    /** Control tokens that end a turn in the common chat formats, also when the metadata names no EOT id (llama.cpp does the same). */
    private static final Set<String> END_OF_TURN_TEXTS = Set.of("<|eot_id|>", "<|eom_id|>", "<|im_end|>", "<|end|>",
            "<end_of_turn>", "<|endoftext|>", "<EOT>", "<|end_of_text|>");

    final int bos, eos, eot, eom;
    final boolean addBos, addEos;
    final int[] endOfGeneration;
    private final String[] vocab;
    private final int[] types;
    /** Control/unknown and user-defined token ids, longest text first. */
    private final int[] specials;

    SpecialTokens(String[] vocab, int[] types, int bos, int eos, int eot, int eom, boolean addBos, boolean addEos) {
        this.vocab = vocab;
        this.types = types;
        this.bos = checkOptional(bos, "BOS", vocab.length);
        this.eos = checkOptional(eos, "EOS", vocab.length);
        this.eot = checkOptional(eot, "EOT", vocab.length);
        this.eom = checkOptional(eom, "EOM", vocab.length);
        if (addBos && bos < 0) throw new ModelFormatException("tokenizer: add_bos_token is set but the vocabulary names no BOS token");
        this.addBos = addBos;
        this.addEos = addEos;
        Set<Integer> eog = new LinkedHashSet<>();
        for (int id : new int[] {eos, eot, eom}) if (id >= 0) eog.add(id);
        List<Integer> sp = new ArrayList<>();
        for (int i = 0; i < vocab.length; i++) {
            int t = types[i];
            if ((t == CONTROL || t == UNKNOWN || t == USER_DEFINED) && !vocab[i].isEmpty()) sp.add(i);
            if (t == CONTROL && END_OF_TURN_TEXTS.contains(vocab[i])) eog.add(i);
        }
        sp.sort(Comparator.comparingInt((Integer i) -> -vocab[i].length()).thenComparingInt(i -> i));
        this.specials = sp.stream().mapToInt(Integer::intValue).toArray();
        this.endOfGeneration = eog.stream().mapToInt(Integer::intValue).toArray();
    }

    private static int checkOptional(int id, String what, int n) {
        if (id >= n || id < -1) throw new ModelFormatException("tokenizer: " + what + " id " + id + " outside vocabulary of " + n);
        return id;
    }

    /** Reads the ids from {@code tokenizer.ggml.*}; ids not named are -1 unless a default is given. */
    static SpecialTokens fromGguf(GgufFile f, String[] vocab, int[] types, int defaultBos, int defaultEos, boolean defaultAddBos) {
        return new SpecialTokens(vocab, types,
                (int) f.getLong("tokenizer.ggml.bos_token_id", defaultBos),
                (int) f.getLong("tokenizer.ggml.eos_token_id", defaultEos),
                (int) f.getLong("tokenizer.ggml.eot_token_id", -1),
                (int) f.getLong("tokenizer.ggml.eom_token_id", -1),
                f.getBool("tokenizer.ggml.add_bos_token", defaultAddBos),
                f.getBool("tokenizer.ggml.add_eos_token", false));
    }

    /** GGUF {@code tokenizer.ggml.token_type}, checked against the vocabulary (all normal when absent). */
    static int[] types(GgufFile f, int n) {
        Object t = f.metadata().get("tokenizer.ggml.token_type");
        if (t == null) {
            int[] all = new int[n];
            Arrays.fill(all, NORMAL);
            return all;
        }
        if (!(t instanceof int[] types) || types.length != n) throw new ModelFormatException("GGUF tokenizer.ggml.token_type does not match the " + n + " tokens");
        return types;
    }

    boolean isControl(int id) { return types[id] == CONTROL || types[id] == UNKNOWN; }
    boolean isUserDefined(int id) { return types[id] == USER_DEFINED; }

    /** A piece of the input: raw text ({@code token < 0}) or one special token. */
    record Fragment(String text, int token) {
        boolean isText() { return token < 0; }
    }

    /**
     * Splits {@code text} at the special tokens written in it: user-defined ones always, control ones only with
     * {@code parseSpecial}.
     */
    List<Fragment> split(String text, boolean parseSpecial) {
        List<Fragment> out = new ArrayList<>();
        if (text.isEmpty()) return out;
        out.add(new Fragment(text, -1));
        for (int id : specials) {
            if (!parseSpecial && !isUserDefined(id)) continue;
            String s = vocab[id];
            List<Fragment> next = new ArrayList<>(out.size());
            for (Fragment f : out) {
                if (!f.isText() || !f.text.contains(s)) {
                    next.add(f);
                    continue;
                }
                int from = 0;
                for (int at = f.text.indexOf(s); at >= 0; at = f.text.indexOf(s, from)) {
                    if (at > from) next.add(new Fragment(f.text.substring(from, at), -1));
                    next.add(new Fragment(s, id));
                    from = at + s.length();
                }
                if (from < f.text.length()) next.add(new Fragment(f.text.substring(from), -1));
            }
            out = next;
        }
        return out;
    }
}
