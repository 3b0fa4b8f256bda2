package dev.loracle.runtime.model;

import dev.loracle.runtime.tensor.GgmlType;
import dev.loracle.runtime.tensor.QuantizedTensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * GGUF v2/v3 reader over a memory-mapped file: metadata key/values, tensor infos and zero-copy tensor slices.
 * Every length and offset is checked against the file size, so a truncated or hostile file gives a
 * {@link ModelFormatException}, never an OOM or an out-of-bounds read.
 */
public final class GgufFile {
    private static final int MAGIC = 0x46554747; // "GGUF" little-endian
    private static final long MAX_STRING = 1L << 24;
    private static final long MAX_ARRAY = 1L << 28;

    public record TensorInfo(String name, GgmlType type, long[] dims, long offset) {
        public long elements() {
            long n = 1;
            for (long d : dims) n = Math.multiplyExact(n, d);
            return n;
        }

        public long byteSize() { return type.bytesFor(elements()); }
    }

    private final MemorySegment file;
    private final int version;
    private final Map<String, Object> metadata;
    private final Map<String, TensorInfo> tensors;
    private final long dataStart;
    private final int alignment;

    private GgufFile(MemorySegment file, int version, Map<String, Object> metadata, Map<String, TensorInfo> tensors,
                     long dataStart, int alignment) {
        this.file = file;
        this.version = version;
        this.metadata = metadata;
        this.tensors = tensors;
        this.dataStart = dataStart;
        this.alignment = alignment;
    }

    public static boolean looksLikeGguf(MemorySegment file) {
        return file.byteSize() >= 4 && file.get(ValueLayout.JAVA_INT_UNALIGNED, 0) == MAGIC;
    }

    /** Parses the header of a mapped GGUF file; tensor data stays in the mapping. */
    public static GgufFile parse(MemorySegment file) {
        Reader r = new Reader(file);
        if (r.i32() != MAGIC) throw new ModelFormatException("not a GGUF file (bad magic)");
        int version = r.i32();
        if (version != 2 && version != 3) throw new ModelFormatException("unsupported GGUF version " + version + " (2 or 3 supported)");
        long tensorCount = r.u64("tensor count", 1 << 20);
        long kvCount = r.u64("metadata count", 1 << 20);
        Map<String, Object> md = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            String key = r.string();
            int type = r.i32();
            md.put(key, r.value(type, key));
        }
        List<TensorInfo> infos = new ArrayList<>();
        for (long i = 0; i < tensorCount; i++) {
            String name = r.string();
            int nDims = r.i32();
            if (nDims < 1 || nDims > 4) throw new ModelFormatException("tensor " + name + ": bad dimension count " + nDims);
            long[] dims = new long[nDims];
            for (int d = 0; d < nDims; d++) dims[d] = r.u64("dimension of " + name, 1L << 40);
            int typeId = r.i32();
            GgmlType type;
            try {
                type = GgmlType.fromId(typeId);
            } catch (IllegalArgumentException e) {
                throw new ModelFormatException("tensor " + name + ": " + e.getMessage());
            }
            long offset = r.u64("offset of " + name, Long.MAX_VALUE);
            infos.add(new TensorInfo(name, type, dims, offset));
        }
        int alignment = 32;
        Object a = md.get("general.alignment");
        if (a != null) {
            alignment = ((Number) a).intValue();
            if (alignment <= 0 || Integer.bitCount(alignment) != 1) throw new ModelFormatException("bad general.alignment " + alignment);
        }
        long dataStart = (r.pos + alignment - 1) / alignment * alignment;
        Map<String, TensorInfo> byName = new LinkedHashMap<>();
        for (TensorInfo t : infos) {
            if (t.offset % alignment != 0) throw new ModelFormatException("tensor " + t.name + ": offset " + t.offset + " not aligned to " + alignment);
            long size;
            try {
                size = t.type.blockSize() > 1 && t.dims[0] % t.type.blockSize() != 0 ? -1 : t.byteSize();
            } catch (ArithmeticException e) {
                size = -1;
            }
            if (size < 0) throw new ModelFormatException("tensor " + t.name + ": bad shape for " + t.type);
            if (dataStart + t.offset + size > file.byteSize() || dataStart + t.offset < dataStart) {
                throw new ModelFormatException("tensor " + t.name + ": data [" + t.offset + ", +" + size + ") lies beyond the end of the file");
            }
            if (byName.put(t.name, t) != null) throw new ModelFormatException("duplicate tensor " + t.name);
        }
        return new GgufFile(file, version, Collections.unmodifiableMap(md), Collections.unmodifiableMap(byName), dataStart, alignment);
    }

    public int version() { return version; }
    public int alignment() { return alignment; }
    public Map<String, Object> metadata() { return metadata; }
    public Map<String, TensorInfo> tensorInfos() { return tensors; }

    public boolean has(String tensorName) { return tensors.containsKey(tensorName); }

    /** Zero-copy view of a tensor as rows x cols (cols = dims[0], rows = product of the rest). */
    public QuantizedTensor tensor(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) throw new ModelFormatException("GGUF has no tensor " + name);
        if (!t.type.decodable()) {
            throw new ModelFormatException("tensor " + name + " has type " + t.type + ", which is not supported (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K)");
        }
        long cols = t.dims[0];
        long rows = t.elements() / cols;
        return new QuantizedTensor(name, t.type, rows, cols, file.asSlice(dataStart + t.offset, t.byteSize()));
    }

    public String getString(String key) {
        Object v = metadata.get(key);
        if (v == null) throw new ModelFormatException("GGUF metadata lacks " + key);
        if (!(v instanceof String s)) throw new ModelFormatException("GGUF metadata " + key + " is not a string");
        return s;
    }

    public long getLong(String key) {
        Object v = metadata.get(key);
        if (v == null) throw new ModelFormatException("GGUF metadata lacks " + key);
        if (!(v instanceof Number n)) throw new ModelFormatException("GGUF metadata " + key + " is not a number");
        return n.longValue();
    }

    public long getLong(String key, long dflt) { return metadata.containsKey(key) ? getLong(key) : dflt; }

    public double getDouble(String key, double dflt) {
        Object v = metadata.get(key);
        if (v == null) return dflt;
        if (!(v instanceof Number n)) throw new ModelFormatException("GGUF metadata " + key + " is not a number");
        return n.doubleValue();
    }

    public boolean getBool(String key, boolean dflt) {
        Object v = metadata.get(key);
        if (v == null) return dflt;
        if (!(v instanceof Boolean b)) throw new ModelFormatException("GGUF metadata " + key + " is not a bool");
        return b;
    }

    private static final class Reader {
        final MemorySegment s;
        long pos;

        Reader(MemorySegment s) { this.s = s; }

        void need(long n) {
            if (n < 0 || pos + n > s.byteSize()) throw new ModelFormatException("GGUF header truncated at byte " + pos);
        }

        int i32() { need(4); int v = s.get(ValueLayout.JAVA_INT_UNALIGNED, pos); pos += 4; return v; }
        long i64() { need(8); long v = s.get(ValueLayout.JAVA_LONG_UNALIGNED, pos); pos += 8; return v; }

        long u64(String what, long max) {
            long v = i64();
            if (v < 0 || v > max) throw new ModelFormatException("GGUF " + what + " out of range: " + Long.toUnsignedString(v));
            return v;
        }

        String string() {
            long len = u64("string length", MAX_STRING);
            need(len);
            byte[] b = s.asSlice(pos, len).toArray(ValueLayout.JAVA_BYTE);
            pos += len;
            return new String(b, StandardCharsets.UTF_8);
        }

        Object value(int type, String key) {
            return switch (type) {
                case 0 -> { need(1); yield (long) (s.get(ValueLayout.JAVA_BYTE, pos++) & 0xFF); }
                case 1 -> { need(1); yield (long) s.get(ValueLayout.JAVA_BYTE, pos++); }
                case 2 -> { need(2); long v = s.get(ValueLayout.JAVA_SHORT_UNALIGNED, pos) & 0xFFFF; pos += 2; yield v; }
                case 3 -> { need(2); long v = s.get(ValueLayout.JAVA_SHORT_UNALIGNED, pos); pos += 2; yield v; }
                case 4 -> Integer.toUnsignedLong(i32());
                case 5 -> (long) i32();
                case 6 -> { need(4); float f = s.get(ValueLayout.JAVA_FLOAT_UNALIGNED, pos); pos += 4; yield f; }
                case 7 -> { need(1); yield s.get(ValueLayout.JAVA_BYTE, pos++) != 0; }
                case 8 -> string();
                case 9 -> array(key);
                case 10, 11 -> i64();
                case 12 -> { need(8); double d = s.get(ValueLayout.JAVA_DOUBLE_UNALIGNED, pos); pos += 8; yield d; }
                default -> throw new ModelFormatException("GGUF metadata " + key + ": unknown value type " + type);
            };
        }

        Object array(String key) {
            int et = i32();
            long n = u64("array length of " + key, MAX_ARRAY);
            switch (et) {
                case 8 -> {
                    String[] out = new String[(int) n];
                    for (int i = 0; i < n; i++) out[i] = string();
                    return out;
                }
                case 6 -> {
                    need(4 * n);
                    float[] out = s.asSlice(pos, 4 * n).toArray(ValueLayout.JAVA_FLOAT_UNALIGNED);
                    pos += 4 * n;
                    return out;
                }
                case 4, 5 -> {
                    need(4 * n);
                    int[] out = s.asSlice(pos, 4 * n).toArray(ValueLayout.JAVA_INT_UNALIGNED);
                    pos += 4 * n;
                    return out;
                }
                default -> {
                    Object[] out = new Object[(int) n];
                    for (int i = 0; i < n; i++) out[i] = value(et, key);
                    return out;
                }
            }
        }
    }
}
