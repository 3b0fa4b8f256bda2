package dev.loracle.runtime.safetensors;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import tools.jackson.databind.JsonNode;

/**
 * A strictly validated safetensors file over a {@link MemorySegment} (memory-mapped by {@link #open}); tensor data is
 * never copied: {@link #data} returns slices of the mapping.
 * <p>
 * Layout: 8-byte little-endian header length N, N bytes of UTF-8 JSON (optionally padded with spaces), then the data
 * section. The header maps tensor names to {@code {"dtype", "shape", "data_offsets": [begin, end]}} and may hold a
 * {@code __metadata__} object of strings. Rejected with {@link SafeTensorsFormatException}: N above the limit or beyond
 * the file, invalid JSON (including duplicate names), unknown keys, unsupported dtypes, negative or overflowing shapes,
 * offsets out of range, byte sizes that differ from product(shape) * dtype size, overlapping tensors, and holes (the
 * format requires the tensors to cover the data section exactly).
 */
public final class SafeTensorsFile implements AutoCloseable {
    private static final String METADATA_KEY = "__metadata__";
    /** Root object, tensor object, shape/offset arrays: 3 levels; one spare. */
    private static final int MAX_JSON_DEPTH = 4;
    /** Longest tensor name or metadata key; real names are module paths of a few hundred characters. */
    private static final int MAX_NAME_CHARS = 64 * 1024;
    private static final BoundedJsonReader DEFAULT_JSON = jsonReader(Limits.DEFAULT);

    /**
     * Parser limits.
     *
     * @param maxHeaderBytes largest accepted JSON header
     * @param maxTensors     most tensors in one file
     * @param maxRank        most dimensions of one tensor
     */
    public record Limits(long maxHeaderBytes, int maxTensors, int maxRank) {
        /** 100 MiB header (the reference implementation's limit), 100 000 tensors, rank 8. */
        public static final Limits DEFAULT = new Limits(100L * 1024 * 1024, 100_000, 8);

        public Limits {
            if (maxHeaderBytes < 2 || maxHeaderBytes > Integer.MAX_VALUE - 16) {
                throw new IllegalArgumentException("maxHeaderBytes must be in [2, 2^31 - 17], got " + maxHeaderBytes);
            }
            if (maxTensors < 0 || maxRank < 0) {
                throw new IllegalArgumentException("maxTensors and maxRank must be >= 0");
            }
        }

        public Limits withMaxHeaderBytes(long bytes) {
            return new Limits(bytes, maxTensors, maxRank);
        }
    }

    private final MemorySegment whole;
    private final MemorySegment dataSection;
    private final List<TensorInfo> tensors;
    private final Map<String, TensorInfo> byName;
    private final Map<String, String> metadata;
    private final Arena arena;
    private final String source;

    private SafeTensorsFile(MemorySegment whole, MemorySegment dataSection, List<TensorInfo> tensors,
                            Map<String, String> metadata, Arena arena, String source) {
        this.whole = whole;
        this.dataSection = dataSection;
        this.tensors = tensors;
        Map<String, TensorInfo> m = new LinkedHashMap<>();
        for (TensorInfo t : tensors) {
            m.put(t.name(), t);
        }
        this.byName = Collections.unmodifiableMap(m);
        this.metadata = metadata;
        this.arena = arena;
        this.source = source;
    }

    /** Memory-maps and validates {@code file} with the default limits. */
    public static SafeTensorsFile open(Path file) {
        return open(file, Limits.DEFAULT);
    }

    /** Memory-maps and validates {@code file}; {@link #close()} unmaps it. */
    public static SafeTensorsFile open(Path file, Limits limits) {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw fail(file.toString(), "file is " + size + " bytes, shorter than the 8-byte header length");
            }
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            return parse(seg, limits, arena, file.toString());
        } catch (IOException e) {
            arena.close();
            throw new UncheckedIOException("cannot read safetensors file " + file + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Validates a safetensors image held in {@code whole}; the result does not own the segment. */
    public static SafeTensorsFile parse(MemorySegment whole, Limits limits) {
        return parse(whole, limits, null, "<memory>");
    }

    private static SafeTensorsFile parse(MemorySegment whole, Limits limits, Arena arena, String source) {
        long size = whole.byteSize();
        if (size < 8) {
            throw fail(source, "file is " + size + " bytes, shorter than the 8-byte header length");
        }
        long n = whole.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (n < 0 || n > limits.maxHeaderBytes()) {
            throw fail(source, "header length " + Long.toUnsignedString(n) + " exceeds the limit of "
                    + limits.maxHeaderBytes() + " bytes");
        }
        if (n > size - 8) {
            throw fail(source, "header length " + n + " runs past the end of the file (" + size + " bytes)");
        }
        if (n < 2) {
            throw fail(source, "header length " + n + " is too small for a JSON object");
        }
        byte[] header = whole.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
        if (header[0] != '{') {
            throw fail(source, "header does not start with '{'");
        }
        BoundedJsonReader json = limits.equals(Limits.DEFAULT) ? DEFAULT_JSON : jsonReader(limits);
        JsonNode root;
        try {
            root = json.read(header);
        } catch (JsonFormatException e) {
            throw fail(source, "header is not valid JSON: " + e.getMessage());
        }
        if (!root.isObject()) {
            throw fail(source, "header is not a JSON object");
        }
        long dataSize = size - 8 - n;
        Map<String, String> metadata = Map.of();
        List<TensorInfo> list = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            String name = e.getKey();
            if (name.equals(METADATA_KEY)) {
                metadata = readMetadata(e.getValue(), source);
                continue;
            }
            if (list.size() >= limits.maxTensors()) {
                throw fail(source, "more than " + limits.maxTensors() + " tensors");
            }
            list.add(readTensor(name, e.getValue(), dataSize, limits, source));
        }
        checkCoverage(list, dataSize, source);
        MemorySegment data = whole.asSlice(8 + n, dataSize);
        return new SafeTensorsFile(whole, data, Collections.unmodifiableList(list), metadata, arena, source);
    }

    /**
     * JSON bounds for a header: its length, the depth above, and a token budget that fits {@code maxTensors} tensors
     * of rank {@code maxRank} (13 + rank tokens each, counting the name) plus a few thousand metadata entries, so the
     * tree Jackson builds stays proportional to what the limits allow, not to the header length alone.
     */
    private static BoundedJsonReader jsonReader(Limits limits) {
        long maxTokens = (limits.maxTensors() + 1L) * (13L + limits.maxRank()) + 8192;
        return new BoundedJsonReader(MAX_JSON_DEPTH, limits.maxHeaderBytes(), MAX_NAME_CHARS, maxTokens);
    }

    private static Map<String, String> readMetadata(JsonNode value, String source) {
        if (!value.isObject()) {
            throw fail(source, METADATA_KEY + " is not a JSON object");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : value.properties()) {
            if (!e.getValue().isString()) {
                throw fail(source, METADATA_KEY + " value of '" + e.getKey() + "' is not a string");
            }
            out.put(e.getKey(), e.getValue().stringValue());
        }
        return Collections.unmodifiableMap(out);
    }

    private static TensorInfo readTensor(String name, JsonNode m, long dataSize, Limits limits, String source) {
        if (!m.isObject()) {
            throw fail(source, "tensor '" + name + "' is not a JSON object");
        }
        for (String key : m.propertyNames()) {
            if (!key.equals("dtype") && !key.equals("shape") && !key.equals("data_offsets")) {
                throw fail(source, "tensor '" + name + "' has unknown key '" + key + "'");
            }
        }
        JsonNode dtypeNode = m.get("dtype");
        if (dtypeNode == null || !dtypeNode.isString()) {
            throw fail(source, "tensor '" + name + "' has no string 'dtype'");
        }
        String dtypeName = dtypeNode.stringValue();
        SafeTensorsDType dtype;
        try {
            dtype = SafeTensorsDType.fromHeader(dtypeName, name);
        } catch (SafeTensorsFormatException ex) {
            throw fail(source, ex.getMessage());
        }
        JsonNode shapeList = m.get("shape");
        if (shapeList == null || !shapeList.isArray()) {
            throw fail(source, "tensor '" + name + "' has no 'shape' array");
        }
        if (shapeList.size() > limits.maxRank()) {
            throw fail(source, "tensor '" + name + "' has rank " + shapeList.size() + ", above the limit of "
                    + limits.maxRank());
        }
        long[] shape = new long[shapeList.size()];
        long elements = 1;
        for (int i = 0; i < shape.length; i++) {
            shape[i] = nonNegativeLong(shapeList.get(i), "tensor '" + name + "' shape[" + i + "]", source);
            try {
                elements = Math.multiplyExact(elements, shape[i]);
            } catch (ArithmeticException ex) {
                throw fail(source, "tensor '" + name + "' shape " + Arrays.toString(shape) + " overflows");
            }
        }
        long bytes;
        try {
            bytes = Math.multiplyExact(elements, (long) dtype.byteSize());
        } catch (ArithmeticException ex) {
            throw fail(source, "tensor '" + name + "' shape " + Arrays.toString(shape) + " overflows");
        }
        JsonNode offsets = m.get("data_offsets");
        if (offsets == null || !offsets.isArray() || offsets.size() != 2) {
            throw fail(source, "tensor '" + name + "' has no 'data_offsets' array of two integers");
        }
        long begin = nonNegativeLong(offsets.get(0), "tensor '" + name + "' data_offsets[0]", source);
        long end = nonNegativeLong(offsets.get(1), "tensor '" + name + "' data_offsets[1]", source);
        if (begin > end) {
            throw fail(source, "tensor '" + name + "' data_offsets [" + begin + ", " + end + "] are reversed");
        }
        if (end > dataSize) {
            throw fail(source, "tensor '" + name + "' data_offsets [" + begin + ", " + end
                    + "] are out of range: the data section has " + dataSize + " bytes");
        }
        if (end - begin != bytes) {
            throw fail(source, "tensor '" + name + "' has " + (end - begin) + " bytes of data but " + dtype
                    + Arrays.toString(shape) + " needs " + bytes);
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static void checkCoverage(List<TensorInfo> list, long dataSize, String source) {
        List<TensorInfo> sorted = new ArrayList<>(list);
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long expected = 0;
        TensorInfo previous = null;
        for (TensorInfo t : sorted) {
            if (t.begin() < expected) {
                throw fail(source, "tensor '" + t.name() + "' [" + t.begin() + ", " + t.end() + ") overlaps tensor '"
                        + previous.name() + "' [" + previous.begin() + ", " + previous.end() + ")");
            }
            if (t.begin() > expected) {
                throw fail(source, "data section has a hole at bytes [" + expected + ", " + t.begin()
                        + ") before tensor '" + t.name() + "'");
            }
            expected = t.end();
            previous = t;
        }
        if (expected != dataSize) {
            throw fail(source, "data section has " + dataSize + " bytes but the tensors cover " + expected);
        }
    }

    /** Offsets and dimensions are u64 in the format; here they must also fit a non-negative long. */
    private static long nonNegativeLong(JsonNode v, String what, String source) {
        if (!v.isIntegralNumber()) {
            throw fail(source, what + " is not an integer: " + v);
        }
        if (!v.canConvertToLong()) {
            throw fail(source, what + " is too large: " + v);
        }
        long l = v.longValue();
        if (l < 0) {
            throw fail(source, what + " is negative: " + l);
        }
        return l;
    }

    private static SafeTensorsFormatException fail(String source, String what) {
        return new SafeTensorsFormatException("invalid safetensors file " + source + ": " + what);
    }

    /** Tensors in header order. */
    public List<TensorInfo> tensors() {
        return tensors;
    }

    public Optional<TensorInfo> tensor(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    /** The {@code __metadata__} strings (empty when absent). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** The tensor's bytes: a slice of the mapping, valid until {@link #close()}. */
    public MemorySegment data(TensorInfo t) {
        if (byName.get(t.name()) != t && !t.equals(byName.get(t.name()))) {
            throw new IllegalArgumentException("tensor " + t.name() + " is not from " + source);
        }
        return dataSection.asSlice(t.begin(), t.byteSize());
    }

    /** Element {@code index} of tensor {@code t} as a float (any supported dtype). */
    public float floatAt(TensorInfo t, long index) {
        return t.dtype().read(data(t), index);
    }

    /** Size of the whole image in bytes. */
    public long byteSize() {
        return whole.byteSize();
    }

    public String source() {
        return source;
    }

    /** Unmaps the file (when opened with {@link #open}); slices from {@link #data} become unusable. */
    @Override
    public void close() {
        if (arena != null && arena.scope().isAlive()) {
            arena.close();
        }
    }
}
