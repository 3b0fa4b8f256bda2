package dev.loracle.oracle.session;

import dev.loracle.runtime.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link CanonicalHistory#of}: the rule the node and {@code loracle verify} share. */
class CanonicalHistoryTest {
    private final Tokenizer tokenizer = SessionHistoryTest.tokenizer();

    @Test
    void fulfilledTurnsAddPromptThenOutputAndEndedOnesNothing() {
        byte[] out0 = " there was a cat.".getBytes(StandardCharsets.UTF_8);
        byte[] out2 = " It ran away.".getBytes(StandardCharsets.UTF_8);
        int[] history = CanonicalHistory.of(tokenizer, List.of(new CanonicalHistory.EndedTurn("Once upon a time", out0),
                new CanonicalHistory.EndedTurn("[{\"role\":\"user\"}]", null), new CanonicalHistory.EndedTurn("\nThen", out2)));

        int[] expected = CanonicalHistory.withPrompt(tokenizer, new int[0], "Once upon a time");
        expected = CanonicalHistory.withOutput(tokenizer, expected, " there was a cat.");
        expected = CanonicalHistory.withPrompt(tokenizer, expected, "\nThen");
        expected = CanonicalHistory.withOutput(tokenizer, expected, " It ran away.");
        assertThat(history).containsExactly(expected);
        assertThat(CanonicalHistory.of(tokenizer, List.of(new CanonicalHistory.EndedTurn("x", null)))).isEmpty();
    }
}
