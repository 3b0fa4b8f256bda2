package dev.loracle.runtime.tokenizer;

import dev.loracle.runtime.model.GgufFile;
import dev.loracle.runtime.model.ModelFormatException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * SentencePiece-style BPE as in llama2.c and llama.cpp's SPM vocabulary: the text (spaces written as the vocabulary's
 * space symbol, with a leading space prefix) is split into code points, then adjacent pairs are merged greedily,
 * highest vocabulary score first (leftmost on ties), as long as the merged string is a token. Code points that are not
 * tokens fall back to their UTF-8 bytes as {@code <0xXX>} tokens.
 */
public final class SentencePieceTokenizer implements Tokenizer {
    /** U+2581, SentencePiece's visible space. */
    public static final String SPM_SPACE = "\u2581";

    private final String[] vocab;
    private final float[] scores;
    private final SpecialTokens special;
    private final Map<String, Integer> ids;
    private final int[] byteTokens = new int[256];
    private final int[] tokenByte;
    private final int unk;
    private final String space;
    private final boolean addSpacePrefix;

    /** A vocabulary whose first tokens are marked {@code control} (llama2.c, synthetic models); BOS added to prompts. */
    public SentencePieceTokenizer(String[] vocab, float[] scores, boolean[] control, int bos, int eos, int unk, boolean addSpacePrefix) {
        this(vocab, scores, controlTypes(vocab, control), bos, eos, -1, -1, true, unk, addSpacePrefix);
    }

    private static int[] controlTypes(String[] vocab, boolean[] control) {
        if (control.length != vocab.length) throw new ModelFormatException("tokenizer: vocabulary and token kinds differ in length");
        int[] t = new int[vocab.length];
        for (int i = 0; i < t.length; i++) t[i] = control[i] ? SpecialTokens.CONTROL : SpecialTokens.NORMAL;
        return t;
    }

    SentencePieceTokenizer(String[] vocab, float[] scores, int[] types, int bos, int eos, int eot, int eom, boolean addBos, int unk,
                           boolean addSpacePrefix) {
        if (vocab.length == 0 || scores.length != vocab.length || types.length != vocab.length) {
            throw new ModelFormatException("tokenizer: vocabulary, scores and token kinds differ in length");
        }
        if (bos < 0 || eos < 0) throw new ModelFormatException("tokenizer: a SentencePiece vocabulary needs BOS and EOS ids");
        this.vocab = vocab;
        this.scores = scores;
        this.special = new SpecialTokens(vocab, types, bos, eos, eot, eom, addBos, false);
        this.unk = unk;
        this.addSpacePrefix = addSpacePrefix;
        this.ids = new HashMap<>(vocab.length * 2);
        this.tokenByte = new int[vocab.length];
        Arrays.fill(byteTokens, -1);
        Arrays.fill(tokenByte, -1);
        boolean spm = false;
        for (int i = 0; i < vocab.length; i++) {
            String t = vocab[i];
            ids.putIfAbsent(t, i);
            if (t.contains(SPM_SPACE)) spm = true;
            if (t.length() == 6 && t.startsWith("<0x") && t.endsWith(">")) {
                try {
                    int b = Integer.parseInt(t.substring(3, 5), 16);
                    if (byteTokens[b] < 0) byteTokens[b] = i;
                    tokenByte[i] = b;
                } catch (NumberFormatException ignored) {
                    // an ordinary token that happens to look like <0x..>
                }
            }
        }
        this.space = spm ? SPM_SPACE : " ";
    }

    /** llama2.c {@code tokenizer.bin}: int32 max_token_length, then per token float32 score, int32 length, bytes. */
    static SentencePieceTokenizer fromLlama2c(Path path, int vocabSize) {
        byte[] all;
        try {
            all = Files.readAllBytes(path);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read tokenizer " + path, e);
        }
        ByteBuffer bb = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        String[] vocab = new String[vocabSize];
        float[] scores = new float[vocabSize];
        try {
            int maxLen = bb.getInt();
            for (int i = 0; i < vocabSize; i++) {
                scores[i] = bb.getFloat();
                int len = bb.getInt();
                if (len < 0 || len > Math.max(maxLen, 1) || len > bb.remaining()) {
                    throw new ModelFormatException("tokenizer " + path + ": token " + i + " has bad length " + len);
                }
                byte[] b = new byte[len];
                bb.get(b);
                vocab[i] = new String(b, StandardCharsets.UTF_8);
            }
        } catch (java.nio.BufferUnderflowException e) {
            throw new ModelFormatException("tokenizer " + path + " is truncated (model vocabulary has " + vocabSize + " tokens)");
        }
        boolean[] control = new boolean[vocabSize];
        for (int i = 0; i < Math.min(3, vocabSize); i++) control[i] = true; // <unk>, <s>, </s>
        return new SentencePieceTokenizer(vocab, scores, control, 1, 2, 0, true);
    }

    /** GGUF {@code tokenizer.ggml.*} metadata of a {@code llama} (SentencePiece) vocabulary. */
    static SentencePieceTokenizer fromGguf(GgufFile f) {
        if (!(f.metadata().get("tokenizer.ggml.tokens") instanceof String[] tokens)) {
            throw new ModelFormatException("GGUF has no tokenizer.ggml.tokens; pass a tokenizer file");
        }
        float[] scores = f.metadata().get("tokenizer.ggml.scores") instanceof float[] s ? s : new float[tokens.length];
        if (scores.length != tokens.length) throw new ModelFormatException("GGUF tokenizer arrays differ in length");
        int[] types = SpecialTokens.types(f, tokens.length);
        return new SentencePieceTokenizer(tokens, scores, types,
                (int) f.getLong("tokenizer.ggml.bos_token_id", 1),
                (int) f.getLong("tokenizer.ggml.eos_token_id", 2),
                (int) f.getLong("tokenizer.ggml.eot_token_id", -1),
                (int) f.getLong("tokenizer.ggml.eom_token_id", -1),
                f.getBool("tokenizer.ggml.add_bos_token", true),
                (int) f.getLong("tokenizer.ggml.unknown_token_id", 0),
                f.getBool("tokenizer.ggml.add_space_prefix", true));
    }

    @Override public int vocabSize() { return vocab.length; }
    @Override public int bos() { return special.bos; }
    @Override public int eos() { return special.eos; }
    @Override public boolean addBos() { return special.addBos; }
    @Override public int[] endOfGeneration() { return special.endOfGeneration.clone(); }
    @Override public String token(int id) { return vocab[id]; }

    /**
     * llama.cpp's SPM session: text between special tokens gets the space prefix when it starts the input or follows
     * a special token, spaces become the vocabulary's space symbol, then the score-ordered merges run.
     */
    @Override
    public int[] encode(String text, boolean addBos, boolean addEos, boolean parseSpecial) {
        return encode(text, addBos, addEos, parseSpecial, true);
    }

    @Override
    public int[] encodeContinuation(String text, boolean parseSpecial) {
        return encode(text, false, false, parseSpecial, false);
    }

    private int[] encode(String text, boolean addBos, boolean addEos, boolean parseSpecial, boolean startsInput) {
        List<Integer> out = new ArrayList<>();
        if (addBos) out.add(special.bos);
        boolean afterSpecial = startsInput;
        for (SpecialTokens.Fragment f : special.split(text, parseSpecial)) {
            if (!f.isText()) {
                out.add(f.token());
                afterSpecial = true;
                continue;
            }
            String s = (addSpacePrefix && afterSpecial ? " " : "") + f.text();
            if (!space.equals(" ")) s = s.replace(" ", space);
            encodeFragment(s, out);
            afterSpecial = false;
        }
        if (addEos) out.add(special.eos);
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    private record Bigram(int left, int right, float score, int length) {}

    private void encodeFragment(String s, List<Integer> out) {
        int[] cps = s.codePoints().toArray();
        int n = cps.length;
        String[] sym = new String[n];
        int[] prev = new int[n], next = new int[n];
        for (int i = 0; i < n; i++) {
            sym[i] = Character.toString(cps[i]);
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        PriorityQueue<Bigram> queue = new PriorityQueue<>((a, b) -> a.score != b.score ? Float.compare(b.score, a.score) : Integer.compare(a.left, b.left));
        for (int i = 0; i + 1 < n; i++) tryAdd(sym, i, i + 1, queue);
        while (!queue.isEmpty()) {
            Bigram bg = queue.poll();
            String l = sym[bg.left], r = sym[bg.right];
            // stale: one side was merged away or grew since this pair was queued
            if (l == null || r == null || next[bg.left] != bg.right || l.length() + r.length() != bg.length) continue;
            sym[bg.left] = l + r;
            sym[bg.right] = null;
            int nr = next[bg.right];
            next[bg.left] = nr;
            if (nr >= 0) prev[nr] = bg.left;
            if (prev[bg.left] >= 0) tryAdd(sym, prev[bg.left], bg.left, queue);
            if (nr >= 0) tryAdd(sym, bg.left, nr, queue);
        }
        for (int i = n > 0 ? 0 : -1; i >= 0; i = next[i]) {
            Integer id = ids.get(sym[i]);
            if (id != null) {
                out.add(id);
            } else {
                for (byte b : sym[i].getBytes(StandardCharsets.UTF_8)) {
                    int bt = byteTokens[b & 0xFF];
                    out.add(bt >= 0 ? bt : unk);
                }
            }
        }
    }

    private void tryAdd(String[] sym, int left, int right, PriorityQueue<Bigram> queue) {
        String merged = sym[left] + sym[right];
        Integer id = ids.get(merged);
        if (id != null) queue.add(new Bigram(left, right, scores[id], merged.length()));
    }

    /**
     * The bytes token {@code token} stands for after {@code prev}: byte tokens give their byte, control tokens
     * nothing, and the space prefix after BOS is dropped (llama2.c). Bytes, because a code point may span tokens.
     */
    @Override
    public byte[] pieceBytes(int prev, int token) {
        if (token < 0 || token >= vocab.length) throw new IllegalArgumentException("token id " + token + " outside vocabulary of " + vocab.length);
        if (tokenByte[token] >= 0) return new byte[] {(byte) tokenByte[token]};
        if (special.isControl(token)) return new byte[0];
        String p = vocab[token];
        if (!space.equals(" ")) p = p.replace(space, " ");
        if (prev == special.bos && p.startsWith(" ")) p = p.substring(1);
        return p.getBytes(StandardCharsets.UTF_8);
    }
}
