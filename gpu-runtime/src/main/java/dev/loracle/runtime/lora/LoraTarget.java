package dev.loracle.runtime.lora;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * One low-rank update {@code delta = scale * B @ A} for tensor (layer, kind). Matrices are dense little-endian F32,
 * row-major, in the model's orientation: W is [out x in] (row = output), {@code a} is [rank x in], {@code b} is
 * [out x rank]. fan_in_fan_out is already undone; the HF->GGUF Q/K row permutation is applied on load when asked.
 * The segments are read-only by convention: nobody writes them after construction.
 */
public record LoraTarget(int layer, ProjectionKind kind, int rank, int in, int out, float scale,
                         MemorySegment a, MemorySegment b) {

    /** Layout used to read {@link #a} and {@link #b}. */
    public static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public LoraTarget {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(a, "a");
        Objects.requireNonNull(b, "b");
        if (layer < 0) {
            throw new IllegalArgumentException("layer must be >= 0, got " + layer);
        }
        if (rank <= 0 || in <= 0 || out <= 0) {
            throw new IllegalArgumentException("rank, in and out must be positive: rank=" + rank + " in=" + in
                    + " out=" + out);
        }
        if (!Float.isFinite(scale)) {
            throw new IllegalArgumentException("scale must be finite, got " + scale);
        }
        if (a.byteSize() != (long) rank * in * Float.BYTES) {
            throw new IllegalArgumentException("A of layer " + layer + " " + kind + " has " + a.byteSize()
                    + " bytes, expected [" + rank + " x " + in + "] F32 = " + (long) rank * in * Float.BYTES);
        }
        if (b.byteSize() != (long) out * rank * Float.BYTES) {
            throw new IllegalArgumentException("B of layer " + layer + " " + kind + " has " + b.byteSize()
                    + " bytes, expected [" + out + " x " + rank + "] F32 = " + (long) out * rank * Float.BYTES);
        }
    }

    /** Bytes of A plus B (F32). */
    public long bytes() {
        return a.byteSize() + b.byteSize();
    }

    /** A[row][col]. */
    public float aAt(int row, int col) {
        return a.getAtIndex(F32, (long) row * in + col);
    }

    /** B[row][col]. */
    public float bAt(int row, int col) {
        return b.getAtIndex(F32, (long) row * rank + col);
    }

    /** A short human name, e.g. {@code layer 3 q_proj (blk.3.attn_q.weight)}. */
    public String describe() {
        return "layer " + layer + " " + kind.peftName() + " (" + kind.ggufTensorName(layer) + ")";
    }
}
