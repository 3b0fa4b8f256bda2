package dev.loracle.oracle.session;

import dev.loracle.runtime.tokenizer.Tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * The canonical token history of a session, which any node derives from chain data alone (what
 * {@code computeSessionHead} commits to, what the next turn is generated after, and what KV snapshots hash):
 * <ul>
 * <li>only fulfilled turns count, in turn order; a failed or cancelled turn adds nothing;</li>
 * <li>a turn's prompt is appended as {@link #withPrompt}: the first segment of an empty history is encoded as any
 *     prompt ({@code encodePrompt}: BOS where the vocabulary adds one, control tokens parsed, SentencePiece's space
 *     prefix), every later prompt as a continuation (no BOS, no space prefix, control tokens parsed);</li>
 * <li>a fulfilled turn's output is appended as {@link #withOutput}: the on-chain output text re-encoded as a
 *     continuation with control tokens NOT parsed (never the generated ids, which are not on-chain).</li>
 * </ul>
 * Each segment is encoded on its own, so appending a turn never changes earlier tokens (prefix-stable). Re-encoding an
 * output may give other ids than the ones generated; the KV rows computed during generation then differ from the
 * canonical tokens from that block on, and the prefix cache, keyed by a hash chain over the token ids, simply stops
 * reusing there: the rows reused always belong to the canonical tokens.
 */
public final class CanonicalHistory {
    private CanonicalHistory() {
    }

    /**
     * An ended turn as the history needs it: its prompt text, and its on-chain output when it was fulfilled (null when
     * it failed or was cancelled: it adds nothing).
     */
    public record EndedTurn(String prompt, byte[] output) {
        public boolean fulfilled() {
            return output != null;
        }
    }

    /**
     * The history after {@code ended}, the session's ended turns in turn order: the one rule the node (serving the next
     * turn) and {@code loracle verify} (checking a fulfilled one) both apply.
     */
    public static int[] of(Tokenizer tokenizer, List<EndedTurn> ended) {
        int[] history = new int[0];
        for (EndedTurn t : ended) {
            if (!t.fulfilled()) continue;
            history = withOutput(tokenizer, withPrompt(tokenizer, history, t.prompt()), new String(t.output(), StandardCharsets.UTF_8));
        }
        return history;
    }

    /** What turn {@code k} is generated after: {@code history} (turns before k) followed by its prompt. */
    public static int[] withPrompt(Tokenizer tokenizer, int[] history, String prompt) {
        int[] segment = history.length == 0 ? tokenizer.encodePrompt(prompt) : tokenizer.encodeContinuation(prompt, true);
        return concat(history, segment);
    }

    /** The history after a fulfilled turn: what it was generated after, followed by its output text. */
    public static int[] withOutput(Tokenizer tokenizer, int[] generatedAfter, String output) {
        return concat(generatedAfter, tokenizer.encodeContinuation(output, false));
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
