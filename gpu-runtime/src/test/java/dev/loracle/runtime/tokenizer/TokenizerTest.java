package dev.loracle.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.runtime.model.GgufFile;
import dev.loracle.runtime.model.MappedFile;
import dev.loracle.runtime.model.TestModels;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class TokenizerTest {
    private static final String MARKER = "\n__ggml_vocab_test__\n";

    @Test
    void onceUponATimeOnTok512() {
        Tokenizer t = Tokenizer.fromLlama2c(TestModels.tok512(), 512);
        assertArrayEquals(new int[] {1, 403, 407, 261, 378}, t.encode("Once upon a time", true, false));
        assertEquals("Once upon a time", t.decode(t.encode("Once upon a time", true, false)));
    }

    @Test
    void ggufVocabularyOfStories260kMatchesTok512() {
        try (Arena arena = Arena.ofShared()) {
            Tokenizer g = Tokenizer.fromGguf(GgufFile.parse(MappedFile.map(TestModels.ggufF32(), arena)));
            Tokenizer b = Tokenizer.fromLlama2c(TestModels.tok512(), 512);
            for (String s : List.of("Once upon a time", "Lily saw a big, red ball!\nThe end.", "ünïcode ☃ and 42")) {
                assertArrayEquals(b.encode(s, true, true), g.encode(s, true, true), s);
                assertEquals(s, g.decode(g.encode(s, true, false)));
            }
        }
    }

    @Test
    void onceUponATimeOnLlama2Vocabulary() {
        try (Arena arena = Arena.ofShared()) {
            Tokenizer t = Tokenizer.fromGguf(GgufFile.parse(MappedFile.map(TestModels.vocabSpm(), arena)));
            assertArrayEquals(new int[] {1, 9038, 2501, 263, 931}, t.encode("Once upon a time", true, false));
        }
    }

    /** llama.cpp's own test vectors for the Llama SentencePiece vocabulary (no BOS, space prefix on). */
    @Test
    void llamaCppVocabularyVectors() throws IOException {
        Path vocab = TestModels.vocabSpm();
        String inp = Files.readString(Path.of(vocab + ".inp"), StandardCharsets.UTF_8);
        List<String> outLines = Files.readAllLines(Path.of(vocab + ".out"), StandardCharsets.UTF_8);
        List<String> inputs = new ArrayList<>(Arrays.asList(inp.split(MARKER, -1)));
        if (inputs.getLast().isEmpty()) inputs.removeLast();
        assertEquals(outLines.size(), inputs.size(), "inputs vs expected lines");
        assertTrue(inputs.size() >= 40);
        try (Arena arena = Arena.ofShared()) {
            Tokenizer t = Tokenizer.fromGguf(GgufFile.parse(MappedFile.map(vocab, arena)));
            List<String> failures = new ArrayList<>();
            for (int i = 0; i < inputs.size(); i++) {
                String line = outLines.get(i).trim();
                int[] expected = line.isEmpty() ? new int[0] : Arrays.stream(line.split("\\s+")).mapToInt(Integer::parseInt).toArray();
                int[] actual = t.encode(inputs.get(i), false, false);
                if (!Arrays.equals(expected, actual)) {
                    failures.add("'" + inputs.get(i) + "': expected " + Arrays.toString(expected) + " got " + Arrays.toString(actual));
                }
            }
            assertTrue(failures.isEmpty(), failures.size() + " of " + inputs.size() + " vectors differ:\n" + String.join("\n", failures));
        }
    }

    @Test
    void byteFallbackRoundTripsUnknownCharacters() {
        Tokenizer t = Tokenizer.fromLlama2c(TestModels.tok512(), 512);
        String s = "a 🦙 b";
        int[] ids = t.encode(s, true, false);
        assertTrue(Arrays.stream(ids).anyMatch(id -> t.token(id).startsWith("<0x")), Arrays.toString(ids));
        assertEquals(s, t.decode(ids));
    }

    @Test
    void emptyTextIsJustBosAndEos() {
        Tokenizer t = Tokenizer.fromLlama2c(TestModels.tok512(), 512);
        assertArrayEquals(new int[] {1, 2}, t.encode("", true, true));
    }

    @Test
    void aContinuationHasNeitherBosNorTheSpacePrefix() {
        Tokenizer t = Tokenizer.fromLlama2c(TestModels.tok512(), 512);
        int[] start = t.encode("Once upon", false, false);
        int[] continued = t.encodeContinuation("Once upon", false);
        assertNotEquals(java.util.Arrays.toString(start), java.util.Arrays.toString(continued), "the start of an input gets the space prefix");
        assertArrayEquals(start, t.encodeContinuation(" Once upon", false), "the start of an input is its text after one space");
        int[] prompt = t.encodePrompt("Once upon");
        assertEquals(t.bos(), prompt[0]);
        int[] whole = java.util.stream.IntStream.concat(java.util.Arrays.stream(prompt),
                java.util.Arrays.stream(t.encodeContinuation(" a time", false))).toArray();
        StringBuilder text = new StringBuilder();
        for (int i = prompt.length; i < whole.length; i++) text.append(new String(t.pieceBytes(whole[i - 1], whole[i]), java.nio.charset.StandardCharsets.UTF_8));
        assertEquals(" a time", text.toString(), "the continuation appends the text exactly");
    }
}
