package dev.loracle.runtime.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class StrictJsonTest {
    private static Object parse(String s) {
        return StrictJson.parse(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void parsesAllValueKinds() {
        Object v = parse(" {\"a\": [1, -2, 3.5, 1e3, true, false, null], \"b\": {\"c\": \"x\\n\\u00e9\\\"\"},"
                + " \"big\": 123456789012345678901234567890, \"max\": 9223372036854775807} ");
        Map<?, ?> m = (Map<?, ?>) v;
        assertEquals(Arrays.asList(1L, -2L, 3.5, 1000.0, true, false, null), m.get("a"));
        assertEquals("x\n\u00e9\"", ((Map<?, ?>) m.get("b")).get("c"));
        assertEquals(new BigInteger("123456789012345678901234567890"), m.get("big"));
        assertEquals(Long.MAX_VALUE, m.get("max"));
        assertNull(parse("null"));
        assertEquals("caf\u00e9 \ud83d\ude00", parse("\"caf\u00e9 \ud83d\ude00\""));
        assertEquals("\ud83d\ude00", parse("\"\\ud83d\\ude00\""));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "{", "}", "{\"a\":1,}", "[1,]", "{\"a\" 1}", "{a:1}", "01", "-", "1.", ".5", "1e",
        "+1", "NaN", "Infinity", "\"abc", "\"\\x\"", "\"\\u12g4\"", "tru", "nul", "[1 2]", "{\"a\":1}{}", "// c\n1",
        "'a'", "{\"a\":1,\"a\":2}", "\"tab\there\"", "[\"\\u12\"]", "1 2"})
    void rejectsMalformedInput(String s) {
        JsonFormatException e = assertThrows(JsonFormatException.class, () -> parse(s));
        assertTrue(e.getMessage().startsWith("invalid JSON at byte "), e.getMessage());
    }

    @Test
    void duplicateKeyMessageNamesTheKey() {
        JsonFormatException e = assertThrows(JsonFormatException.class, () -> parse("{\"w\":1,\"w\":1}"));
        assertTrue(e.getMessage().contains("duplicate key \"w\""), e.getMessage());
    }

    @Test
    void rejectsInvalidUtf8() {
        byte[] bad = {'"', (byte) 0xC3, (byte) 0x28, '"'};
        assertThrows(JsonFormatException.class, () -> StrictJson.parse(bad));
        byte[] truncated = {'"', (byte) 0xE2, (byte) 0x82, '"'};
        assertThrows(JsonFormatException.class, () -> StrictJson.parse(truncated));
    }

    @Test
    void enforcesDepthValueCountAndNumberLength() {
        String deep = "[".repeat(100) + "]".repeat(100);
        assertThrows(JsonFormatException.class, () -> parse(deep));
        byte[] ok = "[[[1]]]".getBytes(StandardCharsets.UTF_8);
        assertEquals(List.of(List.of(List.of(1L))), StrictJson.parse(ok, 0, ok.length, 3, 10));
        assertThrows(JsonFormatException.class, () -> StrictJson.parse(ok, 0, ok.length, 2, 10));
        byte[] many = "[1,2,3,4,5]".getBytes(StandardCharsets.UTF_8);
        assertThrows(JsonFormatException.class, () -> StrictJson.parse(many, 0, many.length, 3, 5));
        assertThrows(JsonFormatException.class, () -> parse("1".repeat(2000)));
    }

    @Test
    void hugeDeepInputFailsFastWithoutStackOverflow() {
        byte[] b = "[".repeat(5_000_000).getBytes(StandardCharsets.US_ASCII);
        long t0 = System.nanoTime();
        assertThrows(JsonFormatException.class, () -> StrictJson.parse(b));
        assertTrue(System.nanoTime() - t0 < 5_000_000_000L);
    }

    @Test
    void writerOutputParsesBackToTheSameValue() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("s", "q\"uote\\ \n\t\u0001 \u00e9");
        m.put("l", List.of(1L, 2.5, true));
        m.put("n", null);
        m.put("o", Map.of("k", -7L));
        m.put("f", 0.1f);
        String json = StrictJson.write(m);
        Map<?, ?> back = (Map<?, ?>) parse(json);
        assertEquals(m.get("s"), back.get("s"));
        assertEquals(m.get("l"), back.get("l"));
        assertTrue(back.containsKey("n"));
        assertEquals(Map.of("k", -7L), back.get("o"));
        assertEquals(0.1f, ((Double) back.get("f")).floatValue());
        assertThrows(IllegalArgumentException.class, () -> StrictJson.write(Double.NaN));
    }
}
