package dev.loracle.runtime.engine;

import dev.loracle.runtime.lora.LoraMath;
import dev.loracle.runtime.lora.LoraMath.WeightedTarget;
import dev.loracle.runtime.lora.ProjectionKind;
import dev.loracle.runtime.memory.MemoryBudget;
import dev.loracle.runtime.memory.MemoryCategory;
import dev.loracle.runtime.memory.Reservation;
import dev.loracle.runtime.model.LlamaWeights;
import dev.loracle.runtime.tensor.GgmlType;
import dev.loracle.runtime.tensor.ParallelRunner;
import dev.loracle.runtime.tensor.QuantizedTensor;
import dev.loracle.runtime.tensor.Quantization;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * MERGED copies on the CPU: W' = requantize(dequantize(W) + sum w_i s_i B_i A_i) in W's format (Q8_0 for a K-quant W), tensors merged in
 * parallel, each a block of rows at a time while it is in cache. The base is only read.
 */
final class CpuMerge {
    private final LlamaWeights weights;
    private final MemoryBudget budget;
    private final ParallelRunner pool;
    private final int threads;

    CpuMerge(LlamaWeights weights, MemoryBudget budget, ParallelRunner pool, int threads) {
        this.weights = weights;
        this.budget = budget;
        this.pool = pool;
        this.threads = threads;
    }

    private QuantizedTensor base(TensorId id) {
        if (id.layer() < 0 || id.layer() >= weights.config().nLayers()) throw new IllegalArgumentException("no layer " + id.layer());
        return weights.projection(id.layer(), id.kind());
    }

    /** Peak bytes of {@link #mergeInto}: the copies plus the float scratch of the merging threads. */
    long mergeBytes(Map<TensorId, List<WeightedTarget>> deltas) {
        long held = 0;
        for (TensorId id : deltas.keySet()) held += mergedBytes(base(id));
        return held + mergeScratchFloats(deltas.keySet()) * Float.BYTES;
    }

    /**
     * Float scratch a MERGED attach needs: one dequantized tensor per merging thread (tensors are merged in parallel,
     * one per thread at a time), none for F32 bases (merged in place in their copy).
     */
    private long mergeScratchFloats(Iterable<TensorId> ids) {
        long largest = 0;
        int quantized = 0;
        for (TensorId id : ids) {
            QuantizedTensor b = base(id);
            if (b.type() != GgmlType.F32) {
                largest = Math.max(largest, scratchFloats(b));
                quantized++;
            }
        }
        return largest * Math.min(threads, quantized);
    }

    /** Floats of scratch one quantized tensor's merge needs: a block of rows when it can be fused, else all of it. */
    private static long scratchFloats(QuantizedTensor b) {
        return fusable(b) ? (long) mergeBlockRows(b) * b.cols() : b.elements();
    }

    /** Whether the tensor can be merged a block of rows at a time: its quantization blocks never straddle rows. */
    private static boolean fusable(QuantizedTensor b) {
        return b.rows() > 0 && b.cols() > 0 && b.cols() % QUANT_BLOCK == 0 && b.byteSize() % b.rows() == 0;
    }

    private static int mergeBlockRows(QuantizedTensor b) {
        return (int) Math.max(1, Math.min(b.rows(), MERGE_BLOCK_FLOATS / b.cols()));
    }

    /** The prepared operands hold each target's A and B once more (stacked, scaled): their F32 bytes. */
    private static long unmergedBytes(Map<TensorId, List<WeightedTarget>> deltas) {
        long n = 0;
        for (List<WeightedTarget> list : deltas.values()) {
            for (WeightedTarget t : list) n += t.target().bytes();
        }
        return n;
    }

    WeightOverlay mergeInto(Map<TensorId, List<WeightedTarget>> deltas, String owner) {
        long held = 0, largest = 0;
        List<TensorId> ids = new ArrayList<>(deltas.keySet());
        for (TensorId id : ids) {
            QuantizedTensor b = base(id);
            held += mergedBytes(b);
            if (b.type() != GgmlType.F32) largest = Math.max(largest, scratchFloats(b));
        }
        long scratchFloats = mergeScratchFloats(ids);
        Reservation wc = budget.reserve(MemoryCategory.WORKING_COPY, held, owner);
        Reservation sc = null;
        Arena arena = Arena.ofShared();
        try {
            sc = scratchFloats > 0 ? budget.reserve(MemoryCategory.SCRATCH, scratchFloats * Float.BYTES, owner) : null;
            // one scratch per concurrently merging thread, handed from chunk to chunk (at most `threads` run at once)
            java.util.concurrent.ConcurrentLinkedQueue<float[]> scratch = new java.util.concurrent.ConcurrentLinkedQueue<>();
            for (long f = 0; f < scratchFloats; f += largest) scratch.add(new float[Math.toIntExact(largest)]);
            QuantizedTensor[] bases = new QuantizedTensor[ids.size()];
            MemorySegment[] copies = new MemorySegment[ids.size()];
            for (int i = 0; i < bases.length; i++) bases[i] = base(ids.get(i));
            // the workers allocate their copies (a shared arena allocates from any thread), so that zeroing and first
            // touch of the fresh pages run in parallel rather than on this thread before the merge starts;
            // one tensor per chunk, so that the threads finish within one tensor's merge of each other
            pool.forRange(bases.length, 1, bases.length, (s, e) -> {
                float[] buf = null; // taken only by chunks with a quantized tensor: never more of them at once than buffers
                try {
                    for (int i = s; i < e; i++) {
                        if (buf == null && bases[i].type() != GgmlType.F32) buf = scratch.remove();
                        copies[i] = arena.allocate(mergedBytes(bases[i]), 64);
                        fillWorkingCopy(bases[i], deltas.get(ids.get(i)), copies[i], buf);
                    }
                } finally {
                    if (buf != null) scratch.add(buf);
                }
            });
            QuantizedTensor[][] merged = new QuantizedTensor[weights.config().nLayers()][ProjectionKind.values().length];
            for (int i = 0; i < bases.length; i++) {
                TensorId id = ids.get(i);
                merged[id.layer()][id.kind().ordinal()] =
                        new QuantizedTensor(bases[i].name() + "+lora", mergedType(bases[i].type()), bases[i].rows(), bases[i].cols(), copies[i]);
            }
            return new CpuOverlay(deltas.keySet(), merged, arena, wc);
        } catch (RuntimeException | Error e) {
            arena.close();
            wc.close();
            throw e;
        } finally {
            if (sc != null) sc.close();
        }
    }

    /**
     * The format of a merged copy: the base's, except K-quants, which become Q8_0 (there is no K-quant encoder here, and
     * Q8_0 keeps the merged weights closer to dequantize(W) + delta than a second 4/5/6-bit rounding would).
     */
    static GgmlType mergedType(GgmlType base) { return base.kQuant() ? GgmlType.Q8_0 : base; }

    private static long mergedBytes(QuantizedTensor b) { return b.rows() * mergedType(b.type()).bytesFor(b.cols()); }

    /** Elements per quantization block of Q8_0 and Q4_0. */
    private static final int QUANT_BLOCK = 32;
    /** Floats per row block of a fused merge: 32 rows of 768 (96 KiB), well inside L2. */
    private static final int MERGE_BLOCK_FLOATS = 32 * 768;

    /**
     * dst = requantize(dequantize(W) + sum w_i s_i B_i A_i), in {@link #mergedType}, on the calling thread ({@code scratch}
     * holds {@link #scratchFloats} dequantized values; unused for F32).
     */
    private static void fillWorkingCopy(QuantizedTensor base, List<WeightedTarget> deltas, MemorySegment dst, float[] scratch) {
        int rows = Math.toIntExact(base.rows()), cols = Math.toIntExact(base.cols());
        int n = Math.multiplyExact(rows, cols);
        if (base.type() == GgmlType.F32) {
            MemorySegment.copy(base.data(), 0, dst, 0, base.byteSize());
            LoraMath.addComposite(dst, rows, cols, deltas, 1);
        } else if (fusable(base)) {
            // Blocks never straddle rows: dequantize, merge and requantize a few rows at a time, so that the floats stay
            // in L2 instead of making three passes over the whole tensor in memory (same bytes as the whole-tensor path).
            LoraMath.RowMerger merger = LoraMath.rowMerger(rows, cols, deltas);
            long rowBytes = base.byteSize() / rows, dstRowBytes = mergedType(base.type()).bytesFor(cols);
            int block = mergeBlockRows(base);
            for (int r0 = 0; r0 < rows; r0 += block) {
                int r1 = Math.min(rows, r0 + block);
                int m = (r1 - r0) * cols;
                Quantization.dequantize(base.type(), base.data(), r0 * rowBytes, scratch, 0, m);
                if (merger != null) merger.addRows(scratch, 0, r0, r1);
                Quantization.quantize(mergedType(base.type()), scratch, 0, m, dst, r0 * dstRowBytes);
            }
        } else {
            // rows are stored back to back, so the whole tensor is one run of blocks
            Quantization.dequantize(base.type(), base.data(), 0, scratch, 0, n);
            LoraMath.addComposite(MemorySegment.ofArray(scratch).asSlice(0, (long) n * Float.BYTES), rows, cols, deltas, 1);
            Quantization.quantize(mergedType(base.type()), scratch, 0, n, dst, 0);
        }
    }

}
