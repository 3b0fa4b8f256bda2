package dev.loracle.runtime.safetensors;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small strict JSON (RFC 8259) reader and writer for untrusted headers and configs. Strict: UTF-8 only, no
 * duplicate object keys, no trailing commas, no comments, no leading zeros, a bounded nesting depth and a bounded
 * number of values (so a hostile input cannot exhaust the heap), one value then only whitespace.
 * <p>
 * Values map to: object -> {@code Map<String,Object>} (insertion-ordered, unmodifiable), array -> {@code List<Object>},
 * string -> {@code String}, integer -> {@code Long} (or {@code BigInteger} when it does not fit), other numbers ->
 * {@code Double}, true/false -> {@code Boolean}, null -> {@code null}.
 */
public final class StrictJson {
    /** Default depth limit: configs and safetensors headers nest 3 levels. */
    public static final int DEFAULT_MAX_DEPTH = 64;

    private final byte[] in;
    private final int end;
    private final int maxDepth;
    private final long maxValues;
    private int pos;
    private long values;

    private StrictJson(byte[] in, int start, int end, int maxDepth, long maxValues) {
        this.in = in;
        this.pos = start;
        this.end = end;
        this.maxDepth = maxDepth;
        this.maxValues = maxValues;
    }

    /** Parses UTF-8 {@code bytes} with the default depth and no value-count limit beyond the input size. */
    public static Object parse(byte[] bytes) {
        return parse(bytes, 0, bytes.length, DEFAULT_MAX_DEPTH, Long.MAX_VALUE);
    }

    /** Parses {@code bytes[start, end)}. Trailing ASCII whitespace is allowed. */
    public static Object parse(byte[] bytes, int start, int end, int maxDepth, long maxValues) {
        if (start < 0 || end > bytes.length || start > end) {
            throw new IndexOutOfBoundsException("range [" + start + ", " + end + ") of " + bytes.length);
        }
        StrictJson p = new StrictJson(bytes, start, end, maxDepth, maxValues);
        p.skipWhitespace();
        Object v = p.value(0);
        p.skipWhitespace();
        if (p.pos != p.end) {
            throw p.error("unexpected data after the JSON value");
        }
        return v;
    }

    private Object value(int depth) {
        if (++values > maxValues) {
            throw error("more than " + maxValues + " JSON values");
        }
        if (pos >= end) {
            throw error("unexpected end of JSON");
        }
        byte c = in[pos];
        return switch (c) {
            case '{' -> object(depth + 1);
            case '[' -> array(depth + 1);
            case '"' -> string();
            case 't' -> literal("true", Boolean.TRUE);
            case 'f' -> literal("false", Boolean.FALSE);
            case 'n' -> literal("null", null);
            default -> {
                if (c == '-' || (c >= '0' && c <= '9')) {
                    yield number();
                }
                throw error("unexpected character " + describe(c));
            }
        };
    }

    private Map<String, Object> object(int depth) {
        checkDepth(depth);
        pos++; // '{'
        Map<String, Object> map = new LinkedHashMap<>();
        skipWhitespace();
        if (peek() == '}') {
            pos++;
            return Collections.unmodifiableMap(map);
        }
        while (true) {
            skipWhitespace();
            if (peek() != '"') {
                throw error("expected a string key");
            }
            int keyAt = pos;
            String key = string();
            skipWhitespace();
            expect(':');
            skipWhitespace();
            Object v = value(depth);
            if (map.containsKey(key)) {
                pos = keyAt;
                throw error("duplicate key \"" + abbreviate(key) + "\"");
            }
            map.put(key, v);
            skipWhitespace();
            byte c = peek();
            pos++;
            if (c == '}') {
                return Collections.unmodifiableMap(map);
            }
            if (c != ',') {
                pos--;
                throw error("expected ',' or '}' in object");
            }
        }
    }

    private List<Object> array(int depth) {
        checkDepth(depth);
        pos++; // '['
        List<Object> list = new ArrayList<>();
        skipWhitespace();
        if (peek() == ']') {
            pos++;
            return Collections.unmodifiableList(list);
        }
        while (true) {
            skipWhitespace();
            list.add(value(depth));
            skipWhitespace();
            byte c = peek();
            pos++;
            if (c == ']') {
                return Collections.unmodifiableList(list);
            }
            if (c != ',') {
                pos--;
                throw error("expected ',' or ']' in array");
            }
        }
    }

    private String string() {
        pos++; // opening quote
        int start = pos;
        boolean plain = true;
        while (true) {
            if (pos >= end) {
                throw error("unterminated string");
            }
            byte c = in[pos];
            if (c == '"') {
                break;
            }
            if (c == '\\') {
                plain = false;
                pos += 2;
                continue;
            }
            if ((c & 0xFF) < 0x20) {
                throw error("control character " + describe(c) + " in string");
            }
            pos++;
        }
        if (pos > end) {
            throw error("unterminated string");
        }
        int stop = pos;
        pos++; // closing quote
        if (plain) {
            return decodeUtf8(start, stop);
        }
        return unescape(start, stop);
    }

    private String unescape(int start, int stop) {
        StringBuilder sb = new StringBuilder(stop - start);
        int runStart = start;
        int i = start;
        while (i < stop) {
            if (in[i] != '\\') {
                i++;
                continue;
            }
            sb.append(decodeUtf8(runStart, i));
            if (i + 1 >= stop) {
                pos = i;
                throw error("bad escape at end of string");
            }
            byte e = in[i + 1];
            i += 2;
            switch (e) {
                case '"' -> sb.append('"');
                case '\\' -> sb.append('\\');
                case '/' -> sb.append('/');
                case 'b' -> sb.append('\b');
                case 'f' -> sb.append('\f');
                case 'n' -> sb.append('\n');
                case 'r' -> sb.append('\r');
                case 't' -> sb.append('\t');
                case 'u' -> {
                    if (i + 4 > stop) {
                        pos = i;
                        throw error("truncated \\u escape");
                    }
                    int cp = 0;
                    for (int k = 0; k < 4; k++) {
                        int d = Character.digit(in[i + k], 16);
                        if (d < 0) {
                            pos = i + k;
                            throw error("bad hex digit in \\u escape");
                        }
                        cp = cp * 16 + d;
                    }
                    i += 4;
                    sb.append((char) cp);
                }
                default -> {
                    pos = i - 1;
                    throw error("bad escape \\" + describe(e));
                }
            }
            runStart = i;
        }
        sb.append(decodeUtf8(runStart, stop));
        return sb.toString();
    }

    private String decodeUtf8(int start, int stop) {
        boolean ascii = true;
        for (int i = start; i < stop; i++) {
            if (in[i] < 0) {
                ascii = false;
                break;
            }
        }
        if (ascii) {
            return new String(in, start, stop - start, StandardCharsets.ISO_8859_1);
        }
        CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        try {
            CharBuffer cb = dec.decode(ByteBuffer.wrap(in, start, stop - start));
            return cb.toString();
        } catch (CharacterCodingException e) {
            pos = start;
            throw error("string is not valid UTF-8");
        }
    }

    private Object number() {
        int start = pos;
        if (peek() == '-') {
            pos++;
        }
        if (pos >= end || !isDigit(in[pos])) {
            throw error("expected a digit");
        }
        if (in[pos] == '0') {
            pos++;
            if (pos < end && isDigit(in[pos])) {
                throw error("leading zero in number");
            }
        } else {
            while (pos < end && isDigit(in[pos])) {
                pos++;
            }
        }
        boolean integral = true;
        if (pos < end && in[pos] == '.') {
            integral = false;
            pos++;
            if (pos >= end || !isDigit(in[pos])) {
                throw error("expected a digit after '.'");
            }
            while (pos < end && isDigit(in[pos])) {
                pos++;
            }
        }
        if (pos < end && (in[pos] == 'e' || in[pos] == 'E')) {
            integral = false;
            pos++;
            if (pos < end && (in[pos] == '+' || in[pos] == '-')) {
                pos++;
            }
            if (pos >= end || !isDigit(in[pos])) {
                throw error("expected a digit in exponent");
            }
            while (pos < end && isDigit(in[pos])) {
                pos++;
            }
        }
        if (pos - start > 1000) {
            throw error("number literal longer than 1000 characters");
        }
        String text = new String(in, start, pos - start, StandardCharsets.ISO_8859_1);
        if (integral) {
            if (text.length() <= 18) {
                return Long.parseLong(text);
            }
            BigInteger big = new BigInteger(text);
            return big.bitLength() < 64 ? (Object) big.longValue() : big;
        }
        // BigDecimal first: Double.parseDouble alone would accept forms JSON forbids, but those were excluded above.
        return new BigDecimal(text).doubleValue();
    }

    private Object literal(String word, Object v) {
        int n = word.length();
        if (pos + n > end) {
            throw error("unexpected end of JSON");
        }
        for (int i = 0; i < n; i++) {
            if (in[pos + i] != word.charAt(i)) {
                throw error("unexpected character " + describe(in[pos]));
            }
        }
        pos += n;
        return v;
    }

    private void checkDepth(int depth) {
        if (depth > maxDepth) {
            throw error("JSON nested deeper than " + maxDepth);
        }
    }

    private void expect(char c) {
        if (peek() != c) {
            throw error("expected '" + c + "'");
        }
        pos++;
    }

    private byte peek() {
        if (pos >= end) {
            throw error("unexpected end of JSON");
        }
        return in[pos];
    }

    private void skipWhitespace() {
        while (pos < end) {
            byte c = in[pos];
            if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
                pos++;
            } else {
                return;
            }
        }
    }

    private static boolean isDigit(byte c) {
        return c >= '0' && c <= '9';
    }

    private static String describe(byte c) {
        int u = c & 0xFF;
        return u >= 0x21 && u < 0x7F ? "'" + (char) u + "'" : String.format("0x%02X", u);
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }

    private JsonFormatException error(String what) {
        return new JsonFormatException("invalid JSON at byte " + pos + ": " + what);
    }

    // ---------------------------------------------------------------- writing

    /** Writes a value built of Map (String keys), List, String, Number (finite), Boolean and null as compact JSON. */
    public static String write(Object value) {
        StringBuilder sb = new StringBuilder();
        write(sb, value);
        return sb.toString();
    }

    private static void write(StringBuilder sb, Object v) {
        switch (v) {
            case null -> sb.append("null");
            case String s -> quote(sb, s);
            case Boolean b -> sb.append(b);
            case Long l -> sb.append(l);
            case Integer i -> sb.append(i);
            case BigInteger bi -> sb.append(bi);
            case Number n -> {
                double d = n.doubleValue();
                if (!Double.isFinite(d)) {
                    throw new IllegalArgumentException("JSON cannot hold " + d);
                }
                if (d == Math.rint(d) && Math.abs(d) < 1e15) {
                    sb.append((long) d);
                } else {
                    sb.append(n instanceof Float f ? Float.toString(f) : Double.toString(d));
                }
            }
            case Map<?, ?> m -> {
                sb.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    if (!(e.getKey() instanceof String key)) {
                        throw new IllegalArgumentException("JSON object keys must be strings, got " + e.getKey());
                    }
                    if (!first) {
                        sb.append(',');
                    }
                    first = false;
                    quote(sb, key);
                    sb.append(':');
                    write(sb, e.getValue());
                }
                sb.append('}');
            }
            case List<?> list -> {
                sb.append('[');
                for (int i = 0; i < list.size(); i++) {
                    if (i > 0) {
                        sb.append(',');
                    }
                    write(sb, list.get(i));
                }
                sb.append(']');
            }
            default -> throw new IllegalArgumentException("cannot write " + v.getClass().getName() + " as JSON");
        }
    }

    private static void quote(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
