package dev.loracle.runtime.safetensors;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Builds a safetensors file: tensors are laid out contiguously in insertion order and the header is padded with
 * spaces to a multiple of 8 bytes (so the data section is 8-byte aligned, as the reference writer does).
 */
public final class SafeTensorsWriter {
    private record Entry(String name, SafeTensorsDType dtype, long[] shape, MemorySegment bytes) {}

    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    /** Adds a tensor whose raw little-endian bytes are {@code bytes} (copied when written, not now). */
    public SafeTensorsWriter add(String name, SafeTensorsDType dtype, long[] shape, MemorySegment bytes) {
        Objects.requireNonNull(name, "name");
        if (name.equals("__metadata__")) {
            throw new IllegalArgumentException("__metadata__ is reserved");
        }
        if (entries.containsKey(name)) {
            throw new IllegalArgumentException("duplicate tensor name " + name);
        }
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        if (bytes.byteSize() != Math.multiplyExact(n, (long) dtype.byteSize())) {
            throw new IllegalArgumentException("tensor " + name + " " + dtype + Arrays.toString(shape) + " needs "
                    + n * dtype.byteSize() + " bytes, got " + bytes.byteSize());
        }
        entries.put(name, new Entry(name, dtype, shape.clone(), bytes));
        return this;
    }

    /** Adds {@code values} stored as {@code dtype} (rounded to nearest even for F16/BF16). */
    public SafeTensorsWriter addFloats(String name, SafeTensorsDType dtype, long[] shape, float[] values) {
        MemorySegment seg = MemorySegment.ofArray(new byte[Math.multiplyExact(values.length, dtype.byteSize())]);
        for (int i = 0; i < values.length; i++) {
            dtype.write(seg, i, values[i]);
        }
        return add(name, dtype, shape, seg);
    }

    public SafeTensorsWriter metadata(String key, String value) {
        metadata.put(Objects.requireNonNull(key), Objects.requireNonNull(value));
        return this;
    }

    /** The header JSON (without length prefix or padding). */
    public String headerJson() {
        // ObjectNode keeps insertion order: tensors appear in the order their data is laid out.
        ObjectNode header = JsonNodeFactory.instance.objectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Entry e : entries.values()) {
            long end = offset + e.bytes.byteSize();
            ObjectNode t = header.putObject(e.name);
            t.put("dtype", e.dtype.name());
            ArrayNode shape = t.putArray("shape");
            for (long d : e.shape) {
                shape.add(d);
            }
            t.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        return JsonMapper.shared().writeValueAsString(header);
    }

    /** The whole file image. */
    public byte[] toBytes() {
        byte[] header = paddedHeader();
        long total = 8L + header.length + dataBytes();
        if (total > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("image too large for a byte array: " + total + " bytes; use writeTo");
        }
        byte[] out = new byte[(int) total];
        MemorySegment seg = MemorySegment.ofArray(out);
        fill(seg, header);
        return out;
    }

    /** Writes the file (replacing it). */
    public void writeTo(Path file) {
        byte[] header = paddedHeader();
        try (OutputStream os = Files.newOutputStream(file)) {
            byte[] len = new byte[8];
            MemorySegment.ofArray(len).set(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0,
                    header.length);
            os.write(len);
            os.write(header);
            byte[] buf = new byte[1 << 16];
            for (Entry e : entries.values()) {
                long size = e.bytes.byteSize();
                for (long off = 0; off < size; off += buf.length) {
                    int n = (int) Math.min(buf.length, size - off);
                    MemorySegment.copy(e.bytes, ValueLayout.JAVA_BYTE, off, buf, 0, n);
                    os.write(buf, 0, n);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write safetensors file " + file + ": " + e.getMessage(), e);
        }
    }

    private void fill(MemorySegment seg, byte[] header) {
        seg.set(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, header.length);
        MemorySegment.copy(MemorySegment.ofArray(header), 0, seg, 8, header.length);
        long offset = 8L + header.length;
        for (Entry e : entries.values()) {
            MemorySegment.copy(e.bytes, 0, seg, offset, e.bytes.byteSize());
            offset += e.bytes.byteSize();
        }
    }

    private long dataBytes() {
        long n = 0;
        for (Entry e : entries.values()) {
            n += e.bytes.byteSize();
        }
        return n;
    }

    private byte[] paddedHeader() {
        byte[] json = headerJson().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) & ~7;
        byte[] out = Arrays.copyOf(json, padded);
        Arrays.fill(out, json.length, padded, (byte) ' ');
        return out;
    }
}
