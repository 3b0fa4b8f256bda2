package dev.loracle.runtime.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SafeTensorsFileTest {
    static final Path FIXTURE = Path.of(System.getProperty("loracle.models.dir", "../shared/models"))
            .resolve("peft-fixture/adapter_model.safetensors");

    /** A file image from a raw header string and {@code dataBytes} zero bytes. */
    static byte[] image(String header, int dataBytes) {
        return image(header.getBytes(StandardCharsets.UTF_8), dataBytes);
    }

    /** A file image from raw header bytes (which need not be valid UTF-8) and {@code dataBytes} zero bytes. */
    static byte[] image(byte[] h, int dataBytes) {
        byte[] out = new byte[8 + h.length + dataBytes];
        MemorySegment.ofArray(out).set(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, h.length);
        System.arraycopy(h, 0, out, 8, h.length);
        return out;
    }

    static SafeTensorsFile parse(byte[] image) {
        return SafeTensorsFile.parse(MemorySegment.ofArray(image), SafeTensorsFile.Limits.DEFAULT);
    }

    static void assertRejected(byte[] image, String fragment) {
        SafeTensorsFormatException e = assertThrows(SafeTensorsFormatException.class, () -> parse(image));
        assertTrue(e.getMessage().contains(fragment), "expected '" + fragment + "' in: " + e.getMessage());
    }

    static SafeTensorsWriter sample() {
        return new SafeTensorsWriter().metadata("format", "pt")
                .addFloats("w32", SafeTensorsDType.F32, new long[] {2, 3}, new float[] {1, -2, 3.5f, 0, 1e-8f, 65504})
                .addFloats("w16", SafeTensorsDType.F16, new long[] {3}, new float[] {1, -0.5f, 2049})
                .addFloats("wbf", SafeTensorsDType.BF16, new long[] {1, 2}, new float[] {3.14159f, -1e30f})
                .addFloats("scalar", SafeTensorsDType.F32, new long[] {}, new float[] {42})
                .addFloats("empty", SafeTensorsDType.F32, new long[] {0, 5}, new float[0]);
    }

    @Test
    void writerOutputOpensFromDiskWithValuesAndMetadata(@TempDir Path dir) {
        Path file = dir.resolve("t.safetensors");
        sample().writeTo(file);
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            assertEquals(5, f.tensors().size());
            assertEquals("pt", f.metadata().get("format"));
            TensorInfo w32 = f.tensor("w32").orElseThrow();
            assertArrayEquals(new long[] {2, 3}, w32.shape());
            assertEquals(6, w32.elementCount());
            float[] got = new float[6];
            for (int i = 0; i < 6; i++) {
                got[i] = f.floatAt(w32, i);
            }
            assertArrayEquals(new float[] {1, -2, 3.5f, 0, 1e-8f, 65504}, got);
            TensorInfo w16 = f.tensor("w16").orElseThrow();
            assertEquals(SafeTensorsDType.F16, w16.dtype());
            assertEquals(-0.5f, f.floatAt(w16, 1));
            assertEquals(2048f, f.floatAt(w16, 2)); // 2049 rounds to even in F16
            TensorInfo bf = f.tensor("wbf").orElseThrow();
            assertEquals(SafeTensorsDType.BF16.round(3.14159f), f.floatAt(bf, 0));
            assertEquals(3.140625f, f.floatAt(bf, 0));
            assertEquals(42f, f.floatAt(f.tensor("scalar").orElseThrow(), 0));
            assertEquals(0, f.data(f.tensor("empty").orElseThrow()).byteSize());
            // data() is a zero-copy slice of the mapping
            assertTrue(f.data(w32).isNative());
        }
    }

    @Test
    void emptyOrMissingFilesAreClearErrors(@TempDir Path dir) throws java.io.IOException {
        Path empty = Files.createFile(dir.resolve("empty.safetensors"));
        SafeTensorsFormatException e = assertThrows(SafeTensorsFormatException.class,
                () -> SafeTensorsFile.open(empty));
        assertTrue(e.getMessage().contains("file is 0 bytes"), e.getMessage());
        java.io.UncheckedIOException io = assertThrows(java.io.UncheckedIOException.class,
                () -> SafeTensorsFile.open(dir.resolve("missing.safetensors")));
        assertTrue(io.getMessage().startsWith("cannot read safetensors file"), io.getMessage());
    }

    @Test
    void headerIsPaddedTo8Bytes() {
        byte[] img = sample().toBytes();
        long n = MemorySegment.ofArray(img).get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        assertEquals(0, n % 8);
        assertEquals(5, parse(img).tensors().size());
    }

    @Test
    void realPeftFixtureParses() {
        try (SafeTensorsFile f = SafeTensorsFile.open(FIXTURE)) {
            assertEquals(72, f.tensors().size());
            assertEquals("pt", f.metadata().get("format"));
            TensorInfo a = f.tensor("base_model.model.transformer.h.0.attn.c_attn.lora_A.weight").orElseThrow();
            assertEquals(SafeTensorsDType.F32, a.dtype());
            assertArrayEquals(new long[] {8, 768}, a.shape());
            assertEquals(0, a.begin());
            long total = f.tensors().stream().mapToLong(TensorInfo::byteSize).sum();
            assertEquals(f.byteSize() - 8 - headerLength(f), total);
        }
    }

    private static long headerLength(SafeTensorsFile f) throws RuntimeException {
        try {
            byte[] b = Files.readAllBytes(FIXTURE);
            return MemorySegment.ofArray(b).get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void rejectsBadHeaderLengths() {
        assertRejected(new byte[5], "shorter than the 8-byte header length");
        byte[] img = image("{}", 0);
        MemorySegment.ofArray(img).set(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, 1000);
        assertRejected(img, "runs past the end of the file");
        MemorySegment.ofArray(img).set(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, -1L);
        assertRejected(img, "exceeds the limit");
        MemorySegment.ofArray(img).set(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0,
                200L * 1024 * 1024);
        assertRejected(img, "exceeds the limit");
        byte[] ok = sample().toBytes();
        SafeTensorsFormatException e = assertThrows(SafeTensorsFormatException.class, () -> SafeTensorsFile.parse(
                MemorySegment.ofArray(ok), SafeTensorsFile.Limits.DEFAULT.withMaxHeaderBytes(64)));
        assertTrue(e.getMessage().contains("exceeds the limit of 64 bytes"), e.getMessage());
    }

    @Test
    void rejectsBadHeaders() {
        assertRejected(image("[1,2]   ", 0), "does not start with '{'");
        assertRejected(image("{\"a\":", 0), "not valid JSON");
        assertRejected(image("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8), "duplicate key \"a\"");
        assertRejected(image("{\"a\":[]}", 0), "tensor 'a' is not a JSON object");
        assertRejected(image("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4),
                "unknown key 'x'");
        assertRejected(image("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "no string 'dtype'");
        assertRejected(image("{\"a\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8),
                "dtype I64, which is not supported");
        assertRejected(image("{\"a\":{\"dtype\":\"Q9\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8), "unknown dtype");
        assertRejected(image("{\"__metadata__\":{\"k\":1}}", 0), "is not a string");
        assertRejected(image("{\"__metadata__\":[]}", 0), "__metadata__ is not a JSON object");
    }

    @Test
    void rejectsBadShapesAndOffsets() {
        String t = "{\"a\":{\"dtype\":\"F32\",\"shape\":%s,\"data_offsets\":%s}}";
        assertRejected(image(t.formatted("[-1]", "[0,4]"), 4), "shape[0] is negative");
        assertRejected(image(t.formatted("[1.5]", "[0,4]"), 4), "shape[0] is not an integer");
        assertRejected(image(t.formatted("[99999999999999999999]", "[0,4]"), 4), "too large");
        assertRejected(image(t.formatted("[4294967296,4294967296]", "[0,4]"), 4), "overflows");
        assertRejected(image(t.formatted("[2305843009213693952]", "[0,4]"), 4), "overflows");
        assertRejected(image(t.formatted("[1,1,1,1,1,1,1,1,1]", "[0,4]"), 4), "rank 9");
        assertRejected(image(t.formatted("[2]", "[0,4]"), 4), "has 4 bytes of data but F32[2] needs 8");
        assertRejected(image(t.formatted("[1]", "[0,4]"), 2), "out of range");
        assertRejected(image(t.formatted("[1]", "[4,0]"), 4), "reversed");
        assertRejected(image(t.formatted("[1]", "[0]"), 4), "two integers");
        assertRejected(image(t.formatted("[1]", "[-4,0]"), 4), "negative");
        assertRejected(image(t.formatted("[1]", "[0,4]"), 8), "tensors cover 4");
        String two = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":%s}}";
        assertRejected(image(two.formatted("[4,12]"), 12), "overlaps tensor 'a'");
        assertRejected(image(two.formatted("[0,8]"), 8), "overlaps");
        assertRejected(image(two.formatted("[12,20]"), 20), "hole at bytes [8, 12)");
    }

    @Test
    void enforcesTensorCountLimit() {
        byte[] img = sample().toBytes();
        SafeTensorsFormatException e = assertThrows(SafeTensorsFormatException.class, () -> SafeTensorsFile.parse(
                MemorySegment.ofArray(img), new SafeTensorsFile.Limits(1 << 20, 3, 8)));
        assertTrue(e.getMessage().contains("more than 3 tensors"), e.getMessage());
    }

    /** Header JSON must be strict RFC 8259: each of these is refused by the parser, before any format check. */
    @ParameterizedTest
    @ValueSource(strings = {"{ ", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "{\"k\":01}", "{\"k\":-}", "{\"k\":1.}",
        "{\"k\":.5}", "{\"k\":1e}", "{\"k\":+1}", "{\"k\":NaN}", "{\"k\":Infinity}", "{\"k\":\"abc}",
        "{\"k\":\"\\x\"}", "{\"k\":\"\\u12g4\"}", "{\"k\":tru}", "{\"k\":[1 2]}", "{\"k\":'a'}",
        "{// c\n}", "{/* c */}", "{\"k\":\"tab\there\"}", "{\"k\":[\"\\u12\"]}"})
    void rejectsMalformedJson(String header) {
        assertRejected(image(header, 0), "header is not valid JSON: invalid JSON");
    }

    @Test
    void rejectsTrailingDataAfterTheHeaderObject() {
        assertRejected(image("{}{}", 0), "Trailing token");
        assertRejected(image("{} x", 0), "not valid JSON");
        assertRejected(image("{}\u0000", 0), "not valid JSON");
        assertEquals(0, parse(image("{}  \n\t ", 0)).tensors().size()); // whitespace padding is allowed
    }

    @Test
    void rejectsDuplicateKeysAtEveryLevel() {
        assertRejected(image("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0), "duplicate key \"k\"");
        assertRejected(image("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
                "duplicate key \"dtype\"");
    }

    @Test
    void rejectsInvalidUtf8() {
        byte[][] bad = {
            {(byte) 0xC3, 0x28}, // bad continuation byte
            {(byte) 0xE2, (byte) 0x82}, // truncated sequence
            {(byte) 0xC0, (byte) 0x80}, // overlong NUL
            {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, // encoded surrogate
            {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, // above U+10FFFF
            {(byte) 0xFF}};
        byte[] before = "{\"__metadata__\":{\"k\":\"x".getBytes(StandardCharsets.US_ASCII);
        byte[] after = "y\"}}".getBytes(StandardCharsets.US_ASCII);
        for (byte[] b : bad) {
            byte[] header = new byte[before.length + b.length + after.length];
            System.arraycopy(before, 0, header, 0, before.length);
            System.arraycopy(b, 0, header, before.length, b.length);
            System.arraycopy(after, 0, header, before.length + b.length, after.length);
            assertRejected(image(header, 0), "invalid JSON at byte " + before.length + ": invalid UTF-8");
        }
        // UTF-16/32 (which Jackson would otherwise detect from the zero bytes) is not a safetensors header
        assertRejected(image(new byte[] {'{', 0, '}', 0}, 0), "invalid JSON at byte 1: NUL byte");
        assertRejected(image(new byte[] {'{', 0, 0, 0, '}', 0, 0, 0}, 0), "NUL byte");
        assertEquals("caf\u00e9 \ud83d\ude00 \ud83d\ude00", parse(image(
                "{\"__metadata__\":{\"k\":\"caf\u00e9 \ud83d\ude00 \\ud83d\\ude00\"}}", 0)).metadata().get("k"));
    }

    @Test
    void rejectsDeepNestingFastWithoutStackOverflow() {
        String t = "{\"a\":{\"dtype\":\"F32\",\"shape\":%s,\"data_offsets\":[0,4]}}";
        assertRejected(image(t.formatted("[[1]]"), 4), "shape[0] is not an integer"); // depth 4: parsed, then refused
        assertRejected(image(t.formatted("[[[1]]]"), 4), "nesting depth (5) exceeds the maximum allowed (4");
        byte[] deep = image("{\"a\":" + "[".repeat(5_000_000), 0);
        long t0 = System.nanoTime();
        assertRejected(deep, "nesting depth");
        assertTrue(System.nanoTime() - t0 < 5_000_000_000L);
    }

    @Test
    void rejectsOverlongNumbersAndNames() {
        String t = "{\"a\":{\"dtype\":\"F32\",\"shape\":[%s],\"data_offsets\":[0,4]}}";
        assertRejected(image(t.formatted("1".repeat(2000)), 4), "Number value length (2000) exceeds");
        assertRejected(image(t.formatted("18446744073709551616"), 4), "shape[0] is too large: 18446744073709551616");
        assertRejected(image(t.formatted("-99999999999999999999"), 4), "too large");
        assertRejected(image(t.formatted("1e3"), 4), "shape[0] is not an integer: 1000.0");
        assertRejected(image(t.formatted("1.0"), 4), "shape[0] is not an integer");
        assertRejected(image(t.formatted("true"), 4), "shape[0] is not an integer: true");
        assertRejected(image(t.formatted("\"1\""), 4), "shape[0] is not an integer");
        assertRejected(image("{\"" + "n".repeat(70_000) + "\":{}}", 0), "Name length (70000) exceeds");
    }

    @Test
    void boundsTheNumberOfJsonTokensByTheTensorLimits() {
        // No tensors allowed: room for the metadata budget only (8192 tokens plus one tensor's worth)
        SafeTensorsFile.Limits none = new SafeTensorsFile.Limits(1 << 20, 0, 8);
        StringBuilder small = new StringBuilder("{\"__metadata__\":{");
        StringBuilder large = new StringBuilder("{\"__metadata__\":{");
        for (int i = 0; i < 5000; i++) {
            large.append(i == 0 ? "" : ",").append('"').append(i).append("\":\"v\"");
            if (i < 4000) {
                small.append(i == 0 ? "" : ",").append('"').append(i).append("\":\"v\"");
            }
        }
        assertEquals(4000, SafeTensorsFile.parse(MemorySegment.ofArray(image(small + "}}", 0)), none)
                .metadata().size());
        SafeTensorsFormatException e = assertThrows(SafeTensorsFormatException.class, () -> SafeTensorsFile.parse(
                MemorySegment.ofArray(image(large + "}}", 0)), none));
        assertTrue(e.getMessage().contains("Token count"), e.getMessage());
    }

    /** Random byte mutations of a valid file: each either parses consistently or fails with a format error. */
    @Test
    void randomMutationsNeverEscapeAsOtherErrors() {
        byte[] valid = sample().toBytes();
        int headerEnd = 8 + (int) MemorySegment.ofArray(valid)
                .get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        Random random = new Random(1234);
        int accepted = 0;
        for (int iter = 0; iter < 20_000; iter++) {
            byte[] img = valid.clone();
            int kind = random.nextInt(4);
            if (kind == 0) { // flip bytes in the length prefix or header
                for (int k = 1 + random.nextInt(3); k > 0; k--) {
                    img[random.nextInt(headerEnd)] ^= (byte) (1 << random.nextInt(8));
                }
            } else if (kind == 1) { // replace a header byte with a JSON-significant one
                byte[] chars = "{}[]\",:0123456789-e. \\".getBytes(StandardCharsets.US_ASCII);
                img[8 + random.nextInt(headerEnd - 8)] = chars[random.nextInt(chars.length)];
            } else if (kind == 2) { // truncate
                img = Arrays.copyOf(img, random.nextInt(img.length));
            } else { // extend with garbage
                img = Arrays.copyOf(img, img.length + 1 + random.nextInt(16));
            }
            try {
                SafeTensorsFile f = parse(img);
                accepted++;
                long covered = 0;
                for (TensorInfo t : f.tensors()) {
                    assertTrue(t.begin() >= 0 && t.end() >= t.begin());
                    assertEquals(t.elementCount() * t.dtype().byteSize(), t.byteSize());
                    covered += t.byteSize();
                    for (long i = 0; i < t.elementCount(); i++) {
                        f.floatAt(t, i); // every element is readable
                    }
                }
                assertTrue(covered <= img.length);
            } catch (SafeTensorsFormatException expected) {
                assertFalse(expected.getMessage().isBlank());
            }
        }
        assertTrue(accepted > 0, "some mutations (e.g. in names or metadata) should still be valid");
    }
}
