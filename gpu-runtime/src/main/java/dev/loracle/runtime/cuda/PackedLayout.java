package dev.loracle.runtime.cuda;

import dev.loracle.runtime.tensor.GgmlType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The GPU layout of Q8_0 / Q4_0 matrices (see src/main/cuda/loracle_common.cuh): all quants first, row after row
 * (Q8_0: cols bytes per row, Q4_0: cols/2, each 32-element block's 16 nibble bytes in GGUF order), then every block's
 * fp16 scale, row-major [rows x cols/32]. Same byte count as GGUF, so the accounted figures do not change; rows start
 * 16-byte aligned, so a thread loads 16 quants at once. F32 and F16 keep their GGUF layout. Converted on the host
 * while uploading (no second device copy).
 */
public final class PackedLayout {
    private PackedLayout() {}

    /** True for the types stored repacked. */
    public static boolean packed(GgmlType t) {
        return t == GgmlType.Q8_0 || t == GgmlType.Q4_0;
    }

    /** Bytes of quants per row (the scales follow all rows). */
    public static long quantRowBytes(GgmlType t, int cols) {
        return switch (t) {
            case Q8_0 -> cols;
            case Q4_0 -> cols / 2;
            default -> t.bytesFor(cols);
        };
    }

    /** Offset of the scales from the start of the tensor (rows x quant row bytes); the tensor size for F32/F16. */
    public static long scalesOffset(GgmlType t, int rows, int cols) {
        return rows * quantRowBytes(t, cols);
    }

    /** GGUF bytes of a [rows x cols] matrix -> packed layout (into dst, same size). */
    public static void pack(GgmlType t, MemorySegment gguf, MemorySegment dst, int rows, int cols) {
        if (!packed(t)) {
            MemorySegment.copy(gguf, 0, dst, 0, t.bytesFor((long) rows * cols));
            return;
        }
        int nb = cols / GgmlType.QK, qb = t == GgmlType.Q8_0 ? 32 : 16, bb = t.blockBytes();
        long scales = scalesOffset(t, rows, cols);
        for (long r = 0; r < rows; r++) {
            for (int b = 0; b < nb; b++) {
                long src = (r * nb + b) * bb;
                dst.set(ValueLayout.JAVA_SHORT_UNALIGNED, scales + 2 * (r * nb + b), gguf.get(ValueLayout.JAVA_SHORT_UNALIGNED, src));
                MemorySegment.copy(gguf, src + 2, dst, (r * nb + b) * qb, qb);
            }
        }
    }

    /** Inverse of {@link #pack}: packed bytes -> GGUF (tests and digests compare in the file's layout). */
    public static void unpack(GgmlType t, MemorySegment packed, MemorySegment gguf, int rows, int cols) {
        if (!packed(t)) {
            MemorySegment.copy(packed, 0, gguf, 0, t.bytesFor((long) rows * cols));
            return;
        }
        int nb = cols / GgmlType.QK, qb = t == GgmlType.Q8_0 ? 32 : 16, bb = t.blockBytes();
        long scales = scalesOffset(t, rows, cols);
        for (long r = 0; r < rows; r++) {
            for (int b = 0; b < nb; b++) {
                long dst = (r * nb + b) * bb;
                gguf.set(ValueLayout.JAVA_SHORT_UNALIGNED, dst, packed.get(ValueLayout.JAVA_SHORT_UNALIGNED, scales + 2 * (r * nb + b)));
                MemorySegment.copy(packed, (r * nb + b) * qb, gguf, dst + 2, qb);
            }
        }
    }
}
