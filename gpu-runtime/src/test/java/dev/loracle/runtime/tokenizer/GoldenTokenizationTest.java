package dev.loracle.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.runtime.model.ArchGolden;
import dev.loracle.runtime.model.GgufFile;
import dev.loracle.runtime.model.MappedFile;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every prompt of the {@code arch/} fixtures tokenizes exactly as llama.cpp did, and decodes back to its text. */
class GoldenTokenizationTest {
    private static Arena arena;

    @BeforeAll
    static void open() { arena = Arena.ofShared(); }

    @AfterAll
    static void close() { arena.close(); }

    static Tokenizer tokenizer(String model) {
        return Tokenizer.fromGguf(GgufFile.parse(MappedFile.map(ArchGolden.model(model), arena)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama3-tiny:llama3", "qwen2-tiny:qwen2", "kq-Q4_K_M:kq-Q4_K_M", "kq-Q5_K_M:kq-Q5_K_M"})
    void tokensMatchLlamaCpp(String modelAndGolden) {
        String[] mg = modelAndGolden.split(":");
        Tokenizer t = tokenizer(mg[0]);
        List<String> failures = new ArrayList<>();
        for (ArchGolden g : ArchGolden.load(mg[1])) {
            int[] ids = t.encodePrompt(g.prompt());
            if (!Arrays.equals(g.tokens(), ids)) {
                failures.add(g.prompt() + "\n  expected " + Arrays.toString(g.tokens()) + "\n  got      " + Arrays.toString(ids));
            }
        }
        assertTrue(failures.isEmpty(), failures.size() + " prompts differ:\n" + String.join("\n", failures));
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama3-tiny:llama3", "qwen2-tiny:qwen2"})
    void decodingIsByteExact(String modelAndGolden) {
        String[] mg = modelAndGolden.split(":");
        Tokenizer t = tokenizer(mg[0]);
        for (ArchGolden g : ArchGolden.load(mg[1])) {
            // special tokens parsed from the text are control tokens, which decode to nothing; plain text round-trips
            int[] plain = t.encode(g.prompt(), false, false, false);
            assertEquals(g.prompt(), t.decode(plain), g.prompt());
        }
    }

    @Test
    void llama3VocabularyMetadata() {
        Tokenizer t = tokenizer("llama3-tiny");
        assertInstanceOf(BpeTokenizer.class, t);
        assertEquals(128000, t.bos());
        assertEquals(128001, t.eos());
        assertTrue(t.addBos());
        assertArrayEquals(new int[] {128001, 128009}, t.endOfGeneration(), "EOS and EOT end generation (this Llama 3.0 vocabulary has no <|eom_id|>)");
        assertEquals("llama-bpe", ((BpeTokenizer) t).preTokenizer().name());
        // without special parsing the control token's text is ordinary text
        assertTrue(t.encode("<|eot_id|>", false, false, false).length > 1);
        assertArrayEquals(new int[] {128009}, t.encode("<|eot_id|>", false, false, true));
    }

    @Test
    void qwenVocabularyMetadata() {
        Tokenizer t = tokenizer("qwen2-tiny");
        assertEquals(-1, t.bos());
        assertEquals(151645, t.eos());
        assertTrue(!t.addBos());
        assertTrue(t.isEndOfGeneration(151645) && t.isEndOfGeneration(151643), "<|im_end|> and <|endoftext|> end generation");
        // user-defined tokens (<think>) are matched even without special parsing, and decode to their text
        int think = t.encode("<think>", false, false, false)[0];
        assertEquals("<think>", t.token(think));
        assertEquals("<think>", t.decode(new int[] {think}));
    }

    @Test
    void unknownPreTokenizerIsAnErrorNamingIt() {
        var e = org.junit.jupiter.api.Assertions.assertThrows(dev.loracle.runtime.model.ModelFormatException.class,
                () -> PreTokenizer.named("deepseek-coder"));
        assertTrue(e.getMessage().contains("'deepseek-coder'") && e.getMessage().contains("llama-bpe"), e.getMessage());
    }

    @Test
    void gpt2PreTokenizerSplitsAsGpt2Does() {
        assertEquals(java.util.List.of("Hello", " world", "'s", " 123", "  ", " x", "!!"), PreTokenizer.named("gpt-2").split("Hello world's 123   x!!"));
        // llama3 groups digits by three and keeps a newline run apart
        assertEquals(java.util.List.of("123", "456", "7", "\n\n", "ok"), PreTokenizer.named("llama-bpe").split("1234567\n\nok"));
    }

    @Test
    void multiByteCharactersSplitAcrossTokensDecodeWhole() {
        Tokenizer t = tokenizer("llama3-tiny");
        int[] ids = t.encode("🦙", false, false);
        assertTrue(ids.length > 1, "the llama emoji takes several byte tokens: " + Arrays.toString(ids));
        assertEquals("🦙", t.decode(ids));
    }
}
