package dev.loracle.runtime.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.runtime.model.ArchGolden;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** {@code tokenize --jsonl} and {@code generate --jsonl} print the golden files' fields, one line per prompt. */
class ConformanceCliTest {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private static int[] ints(JsonNode a) {
        int[] r = new int[a.size()];
        for (int i = 0; i < r.length; i++) r[i] = a.get(i).asInt();
        return r;
    }

    @Test
    void tokenizeJsonlMatchesTheGoldenTokens(@TempDir Path tmp) throws IOException {
        List<ArchGolden> goldens = ArchGolden.load("qwen2");
        Path in = tmp.resolve("prompts.jsonl");
        Files.writeString(in, String.join("\n", goldens.stream().map(g -> JSON.writeValueAsString(g.prompt())).toList()) + "\n");
        CliTest.Run r = CliTest.run("tokenize", ArchGolden.model("qwen2-tiny").toString(), "--jsonl", "--input", in.toString());
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(goldens.size(), lines.size());
        for (int i = 0; i < lines.size(); i++) assertArrayEquals(goldens.get(i).tokens(), ints(JSON.readTree(lines.get(i)).get("tokens")), goldens.get(i).prompt());
    }

    @Test
    void generateJsonlPrintsPromptTopEightAndGreedy(@TempDir Path tmp) throws IOException {
        ArchGolden g = ArchGolden.load("llama3").getFirst();
        Path in = tmp.resolve("p.jsonl");
        Files.writeString(in, JSON.writeValueAsString(g.prompt()) + "\n");
        CliTest.Run r = CliTest.run("generate", ArchGolden.model("llama3-tiny").toString(), "--jsonl", "--input", in.toString(),
                "-n", "3", "--threads", "2", "--backend", "cpu");
        assertEquals(0, r.code(), r.err());
        JsonNode o = JSON.readTree(r.out().strip());
        assertArrayEquals(g.tokens(), ints(o.get("tokens")));
        assertEquals(8, o.get("top8_ids").size());
        assertEquals(8, o.get("top8_logits").size());
        assertEquals(g.top8Ids()[0], o.get("top8_ids").get(0).asInt());
        assertEquals(3, o.get("greedy").size());
    }

    @Test
    void chatPromptGoesThroughTheTemplate() {
        // BOS, <|start_header_id|> user <|end_header_id|> \n\n Hi <|eot_id|> <|start_header_id|> assistant <|end_header_id|> \n\n
        CliTest.Run r = CliTest.run("generate", ArchGolden.model("llama3-tiny").toString(), "--chat", "-p", "Hi", "-n", "2",
                "--threads", "2", "--backend", "cpu");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("11 prompt tokens"), r.err());
        CliTest.Run none = CliTest.run("generate", dev.loracle.runtime.model.TestModels.ggufF32().toString(), "--chat", "-p", "Hi", "-n", "2");
        assertEquals(2, none.code());
        assertTrue(none.err().contains("has no chat template"), none.err());
    }

    @Test
    void badJsonLineIsOneClearError(@TempDir Path tmp) throws IOException {
        Path in = tmp.resolve("bad.jsonl");
        Files.writeString(in, "\"ok\"\nnot json\n");
        CliTest.Run r = CliTest.run("tokenize", ArchGolden.model("qwen2-tiny").toString(), "--jsonl", "--input", in.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("line 2 is not JSON"), r.err());
        CliTest.Run both = CliTest.run("tokenize", ArchGolden.model("qwen2-tiny").toString());
        assertEquals(2, both.code());
        assertTrue(both.err().contains("--prompt TEXT or --jsonl"), both.err());
    }

    @Test
    void tokenizeOnePromptPrintsItsIds() {
        CliTest.Run r = CliTest.run("tokenize", ArchGolden.model("kq-Q4_K_M").toString(), "-p", "Hello");
        assertEquals(0, r.code(), r.err());
        assertEquals("1 15043", r.out().strip());
    }
}
