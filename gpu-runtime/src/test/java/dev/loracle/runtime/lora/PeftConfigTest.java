package dev.loracle.runtime.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** adapter_config.json parsing straight from bytes: strict JSON, typed fields, and the write/read round trip. */
class PeftConfigTest {
    private static final String SOURCE = "adapter_config.json";
    private static final String MINIMAL = "\"peft_type\":\"LORA\",\"target_modules\":[\"q_proj\"]";

    private static PeftConfig parse(String json) {
        return PeftConfig.parse(json.getBytes(StandardCharsets.UTF_8), SOURCE);
    }

    private static void assertRejected(byte[] json, String fragment) {
        AdapterValidationException e = assertThrows(AdapterValidationException.class,
                () -> PeftConfig.parse(json, SOURCE));
        assertTrue(e.getMessage().contains(fragment), "expected '" + fragment + "' in: " + e.getMessage());
    }

    private static void assertRejected(String json, String fragment) {
        assertRejected(json.getBytes(StandardCharsets.UTF_8), fragment);
    }

    @Test
    void writtenConfigParsesBackEqual() {
        PeftConfig c = new PeftConfig("LORA", 16, 12.5, true, Map.of("q_proj", 4), Map.of("up_proj", 2.0),
                null, "model\\.layers\\.\\d+\\.self_attn\\.q_proj", List.of(0, 2), false, "llama \"tiny\"",
                "CAUSAL_LM");
        assertEquals(c, PeftConfig.parse(c.toJson(), SOURCE));
        PeftConfig simple = PeftConfig.simple(8, 16, List.of("q_proj", "v_proj"), "stories260K");
        assertEquals(simple, PeftConfig.parse(simple.toJson(), SOURCE));
        String json = new String(simple.toJson(), StandardCharsets.UTF_8);
        assertTrue(json.startsWith("{\"alpha_pattern\":{},\"base_model_name_or_path\":\"stories260K\""), json);
        assertTrue(json.contains("\"lora_alpha\":16,"), json);
    }

    @Test
    void defaultsAndNullsMeanAbsent() {
        PeftConfig c = parse("{" + MINIMAL + ",\"r\":null,\"bias\":null,\"modules_to_save\":null}");
        assertEquals(8, c.r());
        assertEquals(8.0, c.loraAlpha());
        assertNull(c.layersToTransform());
    }

    @Test
    void rejectsMalformedJson() {
        assertRejected("", "adapter_config.json is not valid JSON: invalid JSON: no value");
        assertRejected("{\"peft_type\": \"LORA\",}", "adapter_config.json is not valid JSON: invalid JSON at byte");
        assertRejected("{" + MINIMAL + "} {}", "Trailing token");
        assertRejected("{" + MINIMAL + "} x", "is not valid JSON");
        assertRejected("{" + MINIMAL + ", // comment\n\"r\":4}", "is not valid JSON");
        assertRejected("[1]", "adapter_config.json is not a JSON object");
    }

    @Test
    void rejectsDuplicateKeys() {
        assertRejected("{" + MINIMAL + ",\"r\":4,\"r\":8}", "duplicate key \"r\"");
        assertRejected("{" + MINIMAL + ",\"rank_pattern\":{\"q\":2,\"q\":4}}", "duplicate key \"q\"");
    }

    @Test
    void rejectsDeepNestingAndInvalidUtf8() {
        assertRejected("{" + MINIMAL + ",\"x\":" + "[".repeat(65) + "]".repeat(65) + "}",
                "nesting depth (65) exceeds the maximum allowed (64");
        assertRejected("{\"x\":" + "[".repeat(500_000), "nesting depth");
        assertRejected("{" + MINIMAL + "}" + " ".repeat(1 << 20), "exceeds the maximum allowed (1048576");
        byte[] json = ("{" + MINIMAL + ",\"base_model_name_or_path\":\"ab\"}").getBytes(StandardCharsets.US_ASCII);
        int at = json.length - 4;
        json[at] = (byte) 0xC0; // overlong encoding of '/'
        json[at + 1] = (byte) 0xAF;
        assertRejected(json, "invalid JSON at byte " + at + ": invalid UTF-8");
        assertRejected(("{" + MINIMAL + "}").getBytes(StandardCharsets.UTF_16LE), "NUL byte (JSON must be UTF-8)");
    }

    @Test
    void rejectsHugeOrMistypedNumbers() {
        assertRejected("{" + MINIMAL + ",\"r\":" + "9".repeat(1001) + "}", "Number value length (1001) exceeds");
        assertRejected("{" + MINIMAL + ",\"r\":99999999999999999999}", "r is out of range: 99999999999999999999");
        assertRejected("{" + MINIMAL + ",\"r\":2147483648}", "r is out of range");
        assertRejected("{" + MINIMAL + ",\"r\":-1}", "r is out of range: -1");
        assertRejected("{" + MINIMAL + ",\"r\":8.0}", "r must be an integer, got 8.0");
        assertRejected("{" + MINIMAL + ",\"r\":\"8\"}", "r must be an integer, got \"8\"");
        assertRejected("{" + MINIMAL + ",\"lora_alpha\":1e400}", "lora_alpha must be a finite number");
        assertRejected("{" + MINIMAL + ",\"lora_alpha\":99999999999999999999}", "lora_alpha must be a finite number");
        assertEquals(0.5, parse("{" + MINIMAL + ",\"lora_alpha\":5e-1}").loraAlpha());
        assertRejected("{" + MINIMAL + ",\"layers_to_transform\":[0,-2]}", "layers_to_transform entry is out of range");
    }

    @Test
    void rejectsMistypedFields() {
        assertRejected("{\"peft_type\":\"LORA\"}", "target_modules must be a non-empty list or a regex string, got null");
        assertRejected("{\"peft_type\":\"LORA\",\"target_modules\":[\"q\",1]}", "target_modules entries must be strings, got 1");
        assertRejected("{" + MINIMAL + ",\"use_dora\":\"yes\"}", "use_dora must be true or false, got \"yes\"");
        assertRejected("{" + MINIMAL + ",\"rank_pattern\":[]}", "rank_pattern must be an object, got []");
        assertRejected("{" + MINIMAL + ",\"modules_to_save\":[\"lm_head\"]}",
                "modules_to_save is not supported: the adapter replaces whole modules (embeddings or classifier)"
                        + " (modules_to_save = [\"lm_head\"])");
        assertRejected("{\"peft_type\":7," + "\"target_modules\":[\"q\"]}", "peft_type must be a string, got 7");
    }
}
