package dev.loracle.runtime.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * A 1-D or 2-D tensor stored in GGML layout in a {@link MemorySegment} (memory-mapped file region or off-heap copy).
 * {@code cols} is the row length (GGUF ne[0]); {@code rows} the number of rows (ne[1], 1 for vectors).
 * Quantized types store each row as {@code cols/blockSize} consecutive blocks. Types without kernels (K-quants,
 * BF16) only appear as loaded from a file, before {@code WeightConverter} turns them into a kernel type.
 */
public record QuantizedTensor(String name, GgmlType type, long rows, long cols, MemorySegment data) {

    public QuantizedTensor {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(data, "data");
        if (rows <= 0 || cols <= 0) throw new IllegalArgumentException("tensor " + name + ": bad shape " + rows + "x" + cols);
        if (!type.decodable()) throw new IllegalArgumentException("tensor " + name + ": type " + type + " is not supported");
        if (cols % type.blockSize() != 0) {
            throw new IllegalArgumentException("tensor " + name + ": row length " + cols + " is not a multiple of the "
                    + type + " block size " + type.blockSize());
        }
        long need = rows * type.bytesFor(cols);
        if (data.byteSize() < need) {
            throw new IllegalArgumentException("tensor " + name + ": needs " + need + " bytes, segment has " + data.byteSize());
        }
    }

    public long elements() { return rows * cols; }
    public long rowBytes() { return type.bytesFor(cols); }
    public long byteSize() { return rows * rowBytes(); }

    /** The tensor's own bytes (the segment may be a larger mapping). */
    public MemorySegment bytes() { return data.asSlice(0, byteSize()); }

    /** Dequantizes row {@code row} into {@code dst[off .. off+cols)}. */
    public void dequantizeRow(long row, float[] dst, int off) {
        Quantization.dequantize(type, data, row * rowBytes(), dst, off, Math.toIntExact(cols));
    }

    public QuantizedTensor withData(String newName, GgmlType newType, MemorySegment newData) {
        return new QuantizedTensor(newName, newType, rows, cols, newData);
    }

    @Override
    public String toString() {
        return name + "[" + rows + "x" + cols + " " + type + "]";
    }
}
