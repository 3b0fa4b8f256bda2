package dev.loracle.runtime.model;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** One line of {@code arch/*-golden.jsonl}: llama.cpp's tokenization, top-8 logits and greedy tokens for a prompt. */
public record ArchGolden(String prompt, int[] tokens, int[] top8Ids, float[] top8Logits, int[] greedy, float[] greedyTop2Margins) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public static Path model(String name) { return TestModels.dir().resolve("arch/" + name + ".gguf"); }

    public static List<ArchGolden> load(String name) {
        Path p = TestModels.dir().resolve("arch/" + name + "-golden.jsonl");
        List<ArchGolden> out = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(p)) {
                if (line.isBlank()) continue;
                JsonNode n = JSON.readTree(line);
                out.add(new ArchGolden(n.get("prompt").asText(), ints(n.get("tokens")), ints(n.get("top8_ids")),
                        floats(n.get("top8_logits")), ints(n.get("greedy")), floats(n.get("greedy_top2_margins"))));
            }
        } catch (java.io.IOException e) {
            throw new UncheckedIOException(e);
        }
        if (out.size() != 15) throw new IllegalStateException(p + " has " + out.size() + " prompts, expected 15");
        return out;
    }

    /** Greedy steps that must match: those before the first near-tie (margin below 0.01), where two correct runs may part. */
    public int comparableGreedySteps() {
        for (int i = 0; i < greedyTop2Margins.length; i++) if (greedyTop2Margins[i] < 0.01f) return i;
        return greedy.length;
    }

    private static int[] ints(JsonNode a) {
        int[] r = new int[a.size()];
        for (int i = 0; i < r.length; i++) r[i] = a.get(i).asInt();
        return r;
    }

    private static float[] floats(JsonNode a) {
        float[] r = new float[a.size()];
        for (int i = 0; i < r.length; i++) r[i] = (float) a.get(i).asDouble();
        return r;
    }
}
