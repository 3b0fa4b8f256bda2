package dev.loracle.runtime.tokenizer;

import dev.loracle.runtime.model.GgufFile;
import dev.loracle.runtime.model.ModelFormatException;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Byte-level BPE (GPT-2 family: Llama 3, Qwen2/2.5/3): the text is split at special tokens, each piece of text by
 * the pre-tokenizer's regular expressions, each resulting word is written as bytes mapped to printable code points
 * (GPT-2's byte-to-unicode table), and adjacent symbols are merged lowest merge rank first (leftmost on ties) while a
 * merge applies. Decoding maps the code points back to bytes.
 */
public final class BpeTokenizer implements Tokenizer {
    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final int[] CHAR_TO_BYTE = new int[512];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = (char) (printable ? b : next++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    private final String[] vocab;
    private final Map<String, Integer> ids;
    /** "left right" -> merge rank (lower merges first). */
    private final Map<String, Integer> ranks;
    private final PreTokenizer preTokenizer;
    private final SpecialTokens special;

    BpeTokenizer(String[] vocab, int[] types, String[] merges, PreTokenizer preTokenizer, SpecialTokens special) {
        if (vocab.length == 0 || types.length != vocab.length) throw new ModelFormatException("tokenizer: vocabulary and token types differ in length");
        if (special.eos < 0) throw new ModelFormatException("tokenizer: the vocabulary names no EOS token");
        this.vocab = vocab;
        this.preTokenizer = preTokenizer;
        this.special = special;
        this.ids = new HashMap<>(vocab.length * 2);
        for (int i = 0; i < vocab.length; i++) ids.putIfAbsent(vocab[i], i);
        this.ranks = new HashMap<>(merges.length * 2);
        for (int i = 0; i < merges.length; i++) {
            String m = merges[i];
            int sp = m.indexOf(' ', 1);
            if (sp < 0 || sp == m.length() - 1) throw new ModelFormatException("tokenizer: merge " + i + " '" + m + "' is not 'left right'");
            ranks.putIfAbsent(m, i);
        }
        for (char c : BYTE_TO_CHAR) {
            if (!ids.containsKey(String.valueOf(c))) throw new ModelFormatException("tokenizer: byte-level BPE vocabulary lacks the byte symbol '" + c + "'");
        }
    }

    /** GGUF {@code tokenizer.ggml.*} metadata of a {@code gpt2} vocabulary. */
    static BpeTokenizer fromGguf(GgufFile f) {
        if (!(f.metadata().get("tokenizer.ggml.tokens") instanceof String[] tokens)) throw new ModelFormatException("GGUF has no tokenizer.ggml.tokens");
        if (!(f.metadata().get("tokenizer.ggml.merges") instanceof String[] merges)) throw new ModelFormatException("GGUF BPE vocabulary has no tokenizer.ggml.merges");
        Object pre = f.metadata().get("tokenizer.ggml.pre");
        PreTokenizer p = PreTokenizer.named(pre instanceof String s ? s : null);
        int[] types = SpecialTokens.types(f, tokens.length);
        return new BpeTokenizer(tokens, types, merges, p, SpecialTokens.fromGguf(f, tokens, types, -1, -1, false));
    }

    public PreTokenizer preTokenizer() { return preTokenizer; }

    @Override public int vocabSize() { return vocab.length; }
    @Override public int bos() { return special.bos; }
    @Override public int eos() { return special.eos; }
    @Override public boolean addBos() { return special.addBos; }
    @Override public int[] endOfGeneration() { return special.endOfGeneration.clone(); }
    @Override public String token(int id) { return vocab[id]; }

    @Override
    public int[] encode(String text, boolean addBos, boolean addEos, boolean parseSpecial) {
        if (addBos && special.bos < 0) throw new IllegalArgumentException("this vocabulary has no BOS token");
        List<Integer> out = new ArrayList<>();
        if (addBos) out.add(special.bos);
        for (SpecialTokens.Fragment f : special.split(text, parseSpecial)) {
            if (!f.isText()) {
                out.add(f.token());
                continue;
            }
            for (String word : preTokenizer.split(f.text())) encodeWord(word, out);
        }
        if (addEos) out.add(special.eos);
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    private void encodeWord(String word, List<Integer> out) {
        byte[] bytes = word.getBytes(StandardCharsets.UTF_8);
        StringBuilder mapped = new StringBuilder(bytes.length);
        for (byte b : bytes) mapped.append(BYTE_TO_CHAR[b & 0xFF]);
        String w = mapped.toString();
        if (preTokenizer.ignoreMerges()) {
            Integer whole = ids.get(w);
            if (whole != null) {
                out.add(whole);
                return;
            }
        }
        List<String> sym = new ArrayList<>(w.length());
        for (int i = 0; i < w.length(); i++) sym.add(String.valueOf(w.charAt(i)));
        while (sym.size() > 1) {
            int best = -1, bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < sym.size(); i++) {
                Integer r = ranks.get(sym.get(i) + " " + sym.get(i + 1));
                if (r != null && r < bestRank) {
                    bestRank = r;
                    best = i;
                }
            }
            if (best < 0) break;
            sym.set(best, sym.get(best) + sym.remove(best + 1));
        }
        for (String s : sym) {
            Integer id = ids.get(s);
            if (id != null) {
                out.add(id);
            } else { // a merge result that is not a token: fall back to its byte symbols
                for (int i = 0; i < s.length(); i++) out.add(ids.get(String.valueOf(s.charAt(i))));
            }
        }
    }

    /** Normal tokens map their code points back to bytes; user-defined tokens are their text; control tokens nothing. */
    @Override
    public byte[] pieceBytes(int prev, int token) {
        if (token < 0 || token >= vocab.length) throw new IllegalArgumentException("token id " + token + " outside vocabulary of " + vocab.length);
        if (special.isControl(token)) return new byte[0];
        String p = vocab[token];
        if (special.isUserDefined(token)) return p.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream b = new ByteArrayOutputStream(p.length());
        for (int i = 0; i < p.length(); i++) {
            char c = p.charAt(i);
            int v = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
            if (v >= 0) b.write(v);
            else b.writeBytes(String.valueOf(c).getBytes(StandardCharsets.UTF_8));
        }
        return b.toByteArray();
    }
}
