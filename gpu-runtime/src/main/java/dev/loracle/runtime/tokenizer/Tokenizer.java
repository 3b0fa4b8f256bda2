package dev.loracle.runtime.tokenizer;

import dev.loracle.runtime.model.GgufFile;
import dev.loracle.runtime.model.ModelFormatException;
import java.io.ByteArrayOutputStream;
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
public final class Tokenizer {
    /** U+2581, SentencePiece's visible space. */
    public static final String SPM_SPACE = "\u2581";

    private final String[] vocab;
    private final float[] scores;
    private final boolean[] control;
    private final Map<String, Integer> ids;
    private final int[] byteTokens = new int[256];
    private final int[] tokenByte;
    private final int bos;
    private final int eos;
    private final int unk;
    private final String space;
    private final boolean addSpacePrefix;

    public Tokenizer(String[] vocab, float[] scores, boolean[] control, int bos, int eos, int unk, boolean addSpacePrefix) {
        if (vocab.length == 0 || scores.length != vocab.length || control.length != vocab.length) {
            throw new ModelFormatException("tokenizer: vocabulary, scores and token kinds differ in length");
        }
        this.vocab = vocab;
        this.scores = scores;
        this.control = control;
        this.bos = checkId(bos, "BOS");
        this.eos = checkId(eos, "EOS");
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

    private int checkId(int id, String what) {
        if (id < 0 || id >= vocab.length) throw new ModelFormatException("tokenizer: " + what + " id " + id + " outside vocabulary of " + vocab.length);
        return id;
    }

    /** llama2.c {@code tokenizer.bin}: int32 max_token_length, then per token float32 score, int32 length, bytes. */
    public static Tokenizer fromLlama2c(Path path, int vocabSize) {
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
        return new Tokenizer(vocab, scores, control, 1, 2, 0, true);
    }

    /** GGUF {@code tokenizer.ggml.*} metadata of a {@code llama} (SentencePiece) vocabulary. */
    public static Tokenizer fromGguf(GgufFile f) {
        Object model = f.metadata().get("tokenizer.ggml.model");
        if (model != null && !"llama".equals(model)) {
            throw new ModelFormatException("tokenizer model '" + model + "' is not supported (only SentencePiece 'llama')");
        }
        if (!(f.metadata().get("tokenizer.ggml.tokens") instanceof String[] tokens)) {
            throw new ModelFormatException("GGUF has no tokenizer.ggml.tokens; pass a tokenizer file");
        }
        float[] scores = f.metadata().get("tokenizer.ggml.scores") instanceof float[] s ? s : new float[tokens.length];
        int[] types = f.metadata().get("tokenizer.ggml.token_type") instanceof int[] t ? t : new int[tokens.length];
        if (scores.length != tokens.length || types.length != tokens.length) {
            throw new ModelFormatException("GGUF tokenizer arrays differ in length");
        }
        boolean[] control = new boolean[tokens.length];
        for (int i = 0; i < tokens.length; i++) control[i] = types[i] == 2 || types[i] == 3; // UNKNOWN, CONTROL
        return new Tokenizer(tokens, scores, control,
                (int) f.getLong("tokenizer.ggml.bos_token_id", 1),
                (int) f.getLong("tokenizer.ggml.eos_token_id", 2),
                (int) f.getLong("tokenizer.ggml.unknown_token_id", 0),
                f.getBool("tokenizer.ggml.add_space_prefix", true));
    }

    public int vocabSize() { return vocab.length; }
    public int bos() { return bos; }
    public int eos() { return eos; }
    public String token(int id) { return vocab[id]; }

    /** Encodes {@code text}; adds BOS/EOS when asked. */
    public int[] encode(String text, boolean addBos, boolean addEos) {
        List<Integer> out = new ArrayList<>();
        if (addBos) out.add(bos);
        if (!text.isEmpty()) {
            String s = (addSpacePrefix ? " " : "") + text;
            if (!space.equals(" ")) s = s.replace(" ", space);
            encodeFragment(s, out);
        }
        if (addEos) out.add(eos);
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
    public byte[] pieceBytes(int prev, int token) {
        if (token < 0 || token >= vocab.length) throw new IllegalArgumentException("token id " + token + " outside vocabulary of " + vocab.length);
        if (tokenByte[token] >= 0) return new byte[] {(byte) tokenByte[token]};
        if (control[token]) return new byte[0];
        String p = vocab[token];
        if (!space.equals(" ")) p = p.replace(space, " ");
        if (prev == bos && p.startsWith(" ")) p = p.substring(1);
        return p.getBytes(StandardCharsets.UTF_8);
    }

    /** Decodes a token sequence (the first token is taken to follow nothing). */
    public String decode(int[] tokens) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int prev = -1;
        for (int t : tokens) {
            b.writeBytes(pieceBytes(prev, t));
            prev = t;
        }
        return b.toString(StandardCharsets.UTF_8);
    }
}
