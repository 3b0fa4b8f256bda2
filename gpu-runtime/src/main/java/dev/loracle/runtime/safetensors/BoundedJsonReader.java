package dev.loracle.runtime.safetensors;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import tools.jackson.core.JacksonException;
import tools.jackson.core.StreamReadConstraints;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.core.TokenStreamLocation;
import tools.jackson.core.json.JsonFactory;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Jackson configured for untrusted JSON (safetensors headers, adapter configs): strict RFC 8259 (Jackson's defaults:
 * no comments, no trailing commas, no leading zeros, no NaN), well-formed UTF-8, no duplicate object keys, one value and
 * then only whitespace, and bounded document length, nesting depth, token count and string, name and number lengths,
 * so a hostile input cannot exhaust the heap or the stack. Thread-safe; build one per set of bounds and reuse it.
 */
public final class BoundedJsonReader {
    /** Longest number literal: far beyond any 64-bit integer, short enough that parsing it stays cheap. */
    static final int MAX_NUMBER_CHARS = 1000;

    private static final Pattern DUPLICATE = Pattern.compile("Duplicate Object property \"(.*)\"", Pattern.DOTALL);

    private final JsonMapper mapper;

    /**
     * @param maxDepth         deepest nesting of objects and arrays (the root container is depth 1)
     * @param maxDocumentBytes longest accepted input
     * @param maxNameChars     longest object key
     * @param maxTokens        most tokens (values, keys and container ends) in one document
     */
    public BoundedJsonReader(int maxDepth, long maxDocumentBytes, int maxNameChars, long maxTokens) {
        StreamReadConstraints limits = StreamReadConstraints.builder()
                .maxNestingDepth(maxDepth)
                .maxDocumentLength(maxDocumentBytes)
                .maxStringLength((int) Math.min(maxDocumentBytes, Integer.MAX_VALUE))
                .maxNameLength(maxNameChars)
                .maxNumberLength(MAX_NUMBER_CHARS)
                .maxTokenCount(maxTokens)
                .build();
        JsonFactory factory = JsonFactory.builder()
                .streamReadConstraints(limits)
                .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                .build();
        this.mapper = JsonMapper.builder(factory)
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .build();
    }

    /** Parses UTF-8 {@code bytes[offset, offset + length)} into a tree (objects keep their key order). */
    public JsonNode read(byte[] bytes, int offset, int length) {
        checkEncoding(bytes, offset, length);
        JsonNode root;
        try {
            root = mapper.readTree(bytes, offset, length);
        } catch (JacksonException e) {
            throw new JsonFormatException(describe(e), e);
        }
        if (root == null || root.isMissingNode()) {
            throw new JsonFormatException("invalid JSON: no value", null);
        }
        return root;
    }

    public JsonNode read(byte[] bytes) {
        return read(bytes, 0, bytes.length);
    }

    /**
     * UTF-8 only. Jackson guesses UTF-16/32 from zero bytes at the start ({@code 7B 00 7D 00} would read as "{}"),
     * but a NUL byte cannot occur in UTF-8 JSON (control characters in strings must be escaped), so any NUL is
     * refused. Jackson rejects bad continuation bytes and encoded surrogates but decodes overlong forms (C0 80 as
     * U+0000) and code points above U+10FFFF; the JDK's decoder refuses every ill-formed sequence. Decoded in small
     * chunks so a large input costs no second copy.
     */
    private static void checkEncoding(byte[] bytes, int offset, int length) {
        for (int i = 0; i < length; i++) {
            if (bytes[offset + i] == 0) {
                throw new JsonFormatException("invalid JSON at byte " + i + ": NUL byte (JSON must be UTF-8)", null);
            }
        }
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes, offset, length);
        CharBuffer out = CharBuffer.allocate(4096);
        while (true) {
            CoderResult result = decoder.decode(in, out, true);
            if (result.isError()) {
                throw new JsonFormatException("invalid JSON at byte " + (in.position() - offset)
                        + ": invalid UTF-8", null);
            }
            if (result.isUnderflow()) {
                return;
            }
            out.clear();
        }
    }

    /** "invalid JSON at byte N: what", without Jackson's source excerpt (the input may be huge or binary). */
    private static String describe(JacksonException e) {
        String what = e.getOriginalMessage();
        Matcher dup = DUPLICATE.matcher(what);
        if (dup.matches()) {
            what = "duplicate key \"" + abbreviate(dup.group(1)) + "\"";
        }
        TokenStreamLocation at = e.getLocation();
        String where = at == null || at.getByteOffset() < 0 ? "" : " at byte " + at.getByteOffset();
        return "invalid JSON" + where + ": " + what;
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }
}
