package dev.loracle.runtime.model;

import dev.loracle.runtime.tensor.QuantizedTensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes GGUF v3 files (metadata + tensors in their GGML layout), e.g. random-weight models that llama.cpp and
 * this engine can both load, so that benchmarks compare the two on the same bytes. Metadata values may be
 * String, Integer (uint32), Long (uint64), Float, Boolean, String[], float[] or int[] (int32).
 * The file is written beside the target and moved into place, so a failed write leaves no partial file.
 */
public final class GgufWriter {
    private static final int MAGIC = 0x46554747; // "GGUF" little-endian
    private static final int ALIGNMENT = 32;
    private static final int T_UINT32 = 4, T_INT32 = 5, T_FLOAT32 = 6, T_BOOL = 7, T_STRING = 8, T_ARRAY = 9, T_UINT64 = 10;

    private final Map<String, Object> metadata = new LinkedHashMap<>();
    private final List<QuantizedTensor> tensors = new ArrayList<>();

    public GgufWriter put(String key, Object value) {
        if (!(value instanceof String || value instanceof Integer || value instanceof Long || value instanceof Float
                || value instanceof Boolean || value instanceof String[] || value instanceof float[] || value instanceof int[])) {
            throw new IllegalArgumentException("metadata " + key + ": unsupported value type " + value.getClass().getSimpleName());
        }
        metadata.put(key, value);
        return this;
    }

    /** Adds a tensor; GGUF dims are (cols) for vectors and (cols, rows) for matrices. */
    public GgufWriter add(QuantizedTensor t) {
        for (QuantizedTensor o : tensors) {
            if (o.name().equals(t.name())) throw new IllegalArgumentException("duplicate tensor " + t.name());
        }
        tensors.add(t);
        return this;
    }

    public void write(Path file) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".part");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            Header h = new Header();
            h.i32(MAGIC).i32(3).i64(tensors.size()).i64(metadata.size());
            metadata.forEach(h::entry);
            long offset = 0;
            for (QuantizedTensor t : tensors) {
                h.str(t.name());
                boolean vector = t.rows() == 1;
                h.i32(vector ? 1 : 2).i64(t.cols());
                if (!vector) h.i64(t.rows());
                h.i32(t.type().id()).i64(offset);
                offset = align(offset + t.byteSize());
            }
            h.pad();
            write(ch, h.buf.flip());
            long pos = 0;
            for (QuantizedTensor t : tensors) {
                write(ch, t.bytes().asByteBuffer());
                pos += t.byteSize();
                write(ch, ByteBuffer.allocate((int) (align(pos) - pos)));
                pos = align(pos);
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static long align(long v) { return (v + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT; }

    private static void write(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    /** The header in memory (metadata is small next to the tensors; a 32k vocabulary is ~0.6 MB). */
    private static final class Header {
        ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        private void room(int n) {
            if (buf.remaining() >= n) return;
            ByteBuffer b = ByteBuffer.allocate(Math.max(buf.capacity() * 2, buf.position() + n)).order(ByteOrder.LITTLE_ENDIAN);
            buf = b.put(buf.flip());
        }

        Header i32(int v) { room(4); buf.putInt(v); return this; }
        Header i64(long v) { room(8); buf.putLong(v); return this; }

        Header str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            i64(b.length);
            room(b.length);
            buf.put(b);
            return this;
        }

        void entry(String key, Object v) {
            str(key);
            switch (v) {
                case String s -> i32(T_STRING).str(s);
                case Integer i -> i32(T_UINT32).i32(i);
                case Long l -> i32(T_UINT64).i64(l);
                case Float f -> i32(T_FLOAT32).i32(Float.floatToRawIntBits(f));
                case Boolean b -> { i32(T_BOOL); room(1); buf.put((byte) (b ? 1 : 0)); }
                case String[] a -> { i32(T_ARRAY).i32(T_STRING).i64(a.length); for (String s : a) str(s); }
                case float[] a -> { i32(T_ARRAY).i32(T_FLOAT32).i64(a.length); for (float f : a) i32(Float.floatToRawIntBits(f)); }
                case int[] a -> { i32(T_ARRAY).i32(T_INT32).i64(a.length); for (int i : a) i32(i); }
                default -> throw new IllegalArgumentException("metadata " + key + ": unsupported value " + v);
            }
        }

        void pad() {
            int p = (int) (align(buf.position()) - buf.position());
            room(p);
            buf.put(new byte[p]);
        }
    }
}
