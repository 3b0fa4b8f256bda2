package dev.loracle.runtime.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;

/** JSON-lines input and output of the conformance commands. */
final class JsonLines {
    private JsonLines() {}

    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** Calls {@code each} with the JSON string on every non-blank line of {@code input} ("-" = stdin). */
    static void forEachPrompt(String input, Consumer<String> each) throws IOException {
        BufferedReader r = "-".equals(input)
                ? new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))
                : Files.newBufferedReader(Path.of(input), StandardCharsets.UTF_8);
        int n = 0;
        for (String line = r.readLine(); line != null; line = r.readLine()) {
            n++;
            if (line.isBlank()) continue;
            JsonNode node;
            try {
                node = JSON.readTree(line);
            } catch (JacksonException e) {
                throw new IllegalArgumentException("line " + n + " is not JSON: " + e.getOriginalMessage());
            }
            if (!node.isString()) throw new IllegalArgumentException("line " + n + " is not a JSON string");
            each.accept(node.asString());
        }
    }

    static ArrayNode array(int[] v) {
        ArrayNode a = JsonNodeFactory.instance.arrayNode();
        for (int x : v) a.add(x);
        return a;
    }

    static ArrayNode array(float[] v) {
        ArrayNode a = JsonNodeFactory.instance.arrayNode();
        for (float x : v) a.add(x);
        return a;
    }

    static String ids(int[] v) {
        return Arrays.stream(v).mapToObj(Integer::toString).collect(Collectors.joining(" "));
    }
}
