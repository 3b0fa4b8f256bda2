package dev.loracle.runtime.cuda;

import dev.loracle.runtime.engine.KvCacheType;
import dev.loracle.runtime.tensor.GgmlType;

import java.util.Objects;

/**
 * Typed launchers of the batched kernels the step executor runs (packed.cu, the paged parts of attention.cu and
 * rope.cu, the segmented and fused parts of lora.cu, the row kernels of rmsnorm.cu, elementwise.cu, sampling.cu).
 * Kernel names are constants (no string building per launch). Launch shapes depend only on the tensor shapes and
 * the number of rows, never on how a row's reduction is split: see the batch-invariance notes in the .cu files.
 */
public final class BatchKernels {
    /** Most threads of a row's block (MM_THREADS in the .cu files). */
    static final int MM_THREADS = 128;
    static final int ROW_BLOCK = 256;
    static final int ELEMENTWISE_BLOCK = 256;
    static final int ATT_CHUNK = 128;
    static final int ATT_THREADS = 128;
    static final int ARGMAX_BLOCK = 1024;
    static final int MERGE_BLOCK = 64;

    /**
     * A matrix on the device: quants (or the F32/F16 elements) of its first row and, for packed types, the scales of
     * its first row. A slice of rows is an offset of both.
     */
    public record Weights(GgmlType type, DevicePtr data, DevicePtr scales, int rows, int cols) {
        public Weights {
            Objects.requireNonNull(data, "data");
            Objects.requireNonNull(scales, "scales");
            checkType(type);
            if (cols % type.blockSize() != 0) {
                throw new IllegalArgumentException(type + " matrix needs a row length that is a multiple of "
                        + type.blockSize() + ", got " + cols);
            }
        }

        /** Weights of a whole tensor buffer in the packed layout. */
        public static Weights of(GgmlType type, DevicePtr base, int rows, int cols) {
            return new Weights(type, base, base.offset(PackedLayout.scalesOffset(type, rows, cols)), rows, cols);
        }

        /** Rows [first, first + count). */
        public Weights rows(int first, int count) {
            if (first < 0 || count <= 0 || first + count > rows) {
                throw new IllegalArgumentException("rows [" + first + ", " + (first + count) + ") of " + rows);
            }
            long nb = type.quantized() ? cols / GgmlType.QK : 0;
            return new Weights(type, data.offset(first * PackedLayout.quantRowBytes(type, cols)),
                    scales.offset(2L * first * nb), count, cols);
        }
    }

    private final KernelLauncher launcher;

    public BatchKernels(KernelLauncher launcher) {
        this.launcher = Objects.requireNonNull(launcher, "launcher");
    }

    private static String mmName(GgmlType t) {
        return switch (t) {
            case Q8_0 -> "mm_q8_0p";
            case Q4_0 -> "mm_q4_0p";
            case F32 -> "mm_f32";
            case F16 -> "mm_f16";
            default -> throw new IllegalArgumentException("no batched matmul for " + t);
        };
    }

    private static String swigluName(GgmlType t) {
        return switch (t) {
            case Q8_0 -> "mm_swiglu_q8_0p";
            case Q4_0 -> "mm_swiglu_q4_0p";
            case F32 -> "mm_swiglu_f32";
            case F16 -> "mm_swiglu_f16";
            default -> throw new IllegalArgumentException("no fused gate/up for " + t);
        };
    }

    private static String embedName(GgmlType t) {
        return switch (t) {
            case Q8_0 -> "embed_q8_0p";
            case Q4_0 -> "embed_q4_0p";
            case F32 -> "embed_f32";
            case F16 -> "embed_f16";
            default -> throw new IllegalArgumentException("no embedding gather for " + t);
        };
    }

    /** y[t * yStride + r] (+)= W[r] . x[t] for t < n (x rows contiguous, w.cols() floats each). */
    public void mm(Weights w, DevicePtr x, DevicePtr y, int n, int yStride, boolean accumulate) {
        positive("n", n);
        launcher.launch(mmName(w.type()), LaunchConfig.linear(w.rows(), rowThreads(w.type(), w.cols())),
                new KernelArgs().ptr(w.data()).ptr(w.scales()).ptr(x).ptr(y).i32(w.cols()).i32(n).i32(yStride)
                        .i32(accumulate ? 1 : 0));
    }

    /** h[t][r] = silu(gate_r . x[t]) * (up_r . x[t]); gateUp holds the gate rows then the up rows. */
    public void mmSwiglu(Weights gateUp, DevicePtr x, DevicePtr h, int n) {
        positive("n", n);
        if (gateUp.rows() % 2 != 0) throw new IllegalArgumentException("gate/up matrix needs an even row count");
        int hidden = gateUp.rows() / 2;
        launcher.launch(swigluName(gateUp.type()), LaunchConfig.linear(hidden, rowThreads(gateUp.type(), gateUp.cols())),
                new KernelArgs().ptr(gateUp.data()).ptr(gateUp.scales()).ptr(x).ptr(h).i32(hidden).i32(gateUp.cols()).i32(n));
    }

    /** x[t] = table row tokens[t] (tokens: n ints on the device). */
    public void embed(Weights table, DevicePtr tokens, DevicePtr x, int n) {
        positive("n", n);
        launcher.launch(embedName(table.type()), LaunchConfig.linear(n, ROW_BLOCK),
                new KernelArgs().ptr(table.data()).ptr(table.scales()).ptr(tokens).ptr(x).i32(table.cols()));
    }

    /** RMSNorm of {@code rows} rows of {@code width}; row r at (r / perGroup) * groupStride + (r % perGroup) * width. */
    public void rmsnormRows(DevicePtr out, DevicePtr x, DevicePtr weight, int width, float eps, int rows, int perGroup,
                            int groupStride) {
        positive("rows", rows);
        positive("width", width);
        launcher.launch("rmsnorm_rows", LaunchConfig.linear(rows, ROW_BLOCK),
                new KernelArgs().ptr(out).ptr(x).ptr(weight).i32(width).f32(eps).i32(perGroup).i32(groupStride));
    }

    /** RoPE of q and k in each qkv row from the cos/sin tables, then k and v stored into the row's paged KV block. */
    public void ropeKvStore(KvCacheType kv, DevicePtr qkv, int qkvStride, int nHeads, int nKv, int headDim, DevicePtr cos,
                            DevicePtr sin, boolean neox, DevicePtr blockTables, int maxBlocks, long layerOff,
                            DevicePtr tokSlot, DevicePtr tokPos, int n) {
        positive("n", n);
        launcher.launch("rope_kv_store_" + suffix(kv), LaunchConfig.linear(n, 128),
                new KernelArgs().ptr(qkv).i32(qkvStride).i32(nHeads).i32(nKv).i32(headDim).ptr(cos).ptr(sin)
                        .i32(neox ? 1 : 0).ptr(blockTables).i32(maxBlocks).i64(layerOff).ptr(tokSlot).ptr(tokPos));
    }

    /** Entry-name suffix of the kernels templated on the KV cache's element type (kv_cache.cuh). */
    private static String suffix(KvCacheType kv) {
        return kv.name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Chunks of ATT_CHUNK positions a context of {@code positions} needs (the partial buffer's chunk dimension). */
    public static int chunks(int positions) { return (positions + ATT_CHUNK - 1) / ATT_CHUNK; }

    /** Flash-decoding partials of every (chunk, head, row); chunks past a row's position exit at once. */
    public void attention(KvCacheType kv, DevicePtr partial, DevicePtr q, int qStride, DevicePtr blockTables, int maxBlocks,
                          long layerOff, int kvDim, int nKv, DevicePtr tokSlot, DevicePtr tokPos, int nHeads, int headDim,
                          int n, int maxChunks) {
        positive("n", n);
        if (headDim > 1024) throw new IllegalArgumentException("attention supports head size <= 1024, got " + headDim);
        if (nKv <= 0 || nHeads % nKv != 0) throw new IllegalArgumentException("heads " + nHeads + " vs kv heads " + nKv);
        launcher.launch("attention_paged_" + suffix(kv),
                new LaunchConfig(maxChunks, nHeads, n, ATT_THREADS, 1, 1, 0),
                new KernelArgs().ptr(partial).ptr(q).i32(qStride).ptr(blockTables).i32(maxBlocks).i64(layerOff)
                        .i32(kvDim).i32(nKv).ptr(tokSlot).ptr(tokPos).i32(nHeads).i32(headDim));
    }

    public void attentionCombine(DevicePtr out, int outStride, DevicePtr partial, DevicePtr tokPos, int maxChunks,
                                 int nHeads, int headDim, int n) {
        launcher.launch("attention_combine", new LaunchConfig(nHeads, n, 1, Math.min(1024, Math.max(32, headDim)), 1, 1, 0),
                new KernelArgs().ptr(out).i32(outStride).ptr(partial).ptr(tokPos).i32(maxChunks).i32(nHeads).i32(headDim));
    }

    /** h[t] = silu(gu[t][0, hidden)) * gu[t][hidden, 2 hidden). */
    public void swigluRows(DevicePtr h, DevicePtr gu, int hidden, int n) {
        launcher.launch("swiglu_rows", LaunchConfig.linear(blocks((long) hidden * n, ELEMENTWISE_BLOCK), ELEMENTWISE_BLOCK),
                new KernelArgs().ptr(h).ptr(gu).i32(hidden).i32(n));
    }

    public void addBiasRows(DevicePtr y, DevicePtr bias, int m, int stride, int n) {
        launcher.launch("add_bias_rows", LaunchConfig.linear(blocks((long) m * n, ELEMENTWISE_BLOCK), ELEMENTWISE_BLOCK),
                new KernelArgs().ptr(y).ptr(bias).i32(m).i32(stride).i32(n));
    }

    public void gatherRows(DevicePtr dst, DevicePtr src, DevicePtr idx, int cols, int m) {
        launcher.launch("gather_rows", LaunchConfig.linear(blocks((long) m * cols, ELEMENTWISE_BLOCK), ELEMENTWISE_BLOCK),
                new KernelArgs().ptr(dst).ptr(src).ptr(idx).i32(cols).i32(m));
    }

    /** x += y over {@code count} floats. */
    public void add(DevicePtr x, DevicePtr y, int count) {
        launcher.launch("add_f32", LaunchConfig.linear(blocks(count, ELEMENTWISE_BLOCK), ELEMENTWISE_BLOCK),
                new KernelArgs().ptr(x).ptr(y).i32(count));
    }

    /** dst = src, {@code words} 16-byte words (the bench's roofline copy); a grid of {@code blocks} x 256 threads. */
    public void copyWords(DevicePtr dst, DevicePtr src, long words, int blocks) {
        launcher.launch("copy_words", LaunchConfig.linear(blocks, 256), new KernelArgs().ptr(dst).ptr(src).i64(words));
    }

    /** result[r] = argmax of row r of x [rows x width] (lowest index on ties). */
    public void argmaxRows(DevicePtr x, int width, int rows, DevicePtr result) {
        launcher.launch("argmax_rows", LaunchConfig.linear(rows, ARGMAX_BLOCK), new KernelArgs().ptr(x).i32(width).ptr(result));
    }

    /** t[row][off_m + k] = A_m[k] . x[row] for the rows of each segment (layout of seg/mem*: lora.cu). */
    public void loraShrink(DevicePtr t, int tStride, DevicePtr x, int cols, DevicePtr seg, DevicePtr memPtr,
                           DevicePtr memInfo, int maxRankSum, int nSeg) {
        launcher.launch("lora_shrink", new LaunchConfig(maxRankSum, nSeg, 1, rowThreads(GgmlType.F32, cols), 1, 1, 0),
                new KernelArgs().ptr(t).i32(tStride).ptr(x).i32(cols).ptr(seg).ptr(memPtr).ptr(memInfo));
    }

    /** y[row][o] += sum_m coef_m B_m t[row] for the rows of each segment. */
    public void loraExpand(DevicePtr y, int yStride, DevicePtr t, int tStride, int out, DevicePtr seg, DevicePtr memPtr,
                           DevicePtr memInfo, DevicePtr memCoef, int nSeg) {
        launcher.launch("lora_expand", new LaunchConfig(blocks(out, 128), nSeg, 1, 128, 1, 1, 0),
                new KernelArgs().ptr(y).i32(yStride).ptr(t).i32(tStride).i32(out).ptr(seg).ptr(memPtr).ptr(memInfo).ptr(memCoef));
    }

    /** dst = requantize(dequantize(base) + B A); a [rank x cols] stacked, bt [rank x rows] pre-scaled. */
    public void merge(Weights dst, Weights base, DevicePtr a, DevicePtr bt, int rank) {
        if (dst.type() != base.type() || dst.rows() != base.rows() || dst.cols() != base.cols()) {
            throw new IllegalArgumentException("merge target differs from its base");
        }
        positive("rank", rank);
        int rows = base.rows(), cols = base.cols();
        switch (base.type()) {
            case Q8_0, Q4_0 -> launcher.launch(base.type() == GgmlType.Q8_0 ? "lora_merge_q8_0p" : "lora_merge_q4_0p",
                    new LaunchConfig(blocks(cols / GgmlType.QK, MERGE_BLOCK), rows, 1, MERGE_BLOCK, 1, 1, 0),
                    new KernelArgs().ptr(dst.data()).ptr(dst.scales()).ptr(base.data()).ptr(base.scales()).ptr(a).ptr(bt)
                            .i32(rows).i32(cols).i32(rank));
            default -> launcher.launch(base.type() == GgmlType.F32 ? "lora_merge_f32" : "lora_merge_f16",
                    new LaunchConfig(blocks(cols, ELEMENTWISE_BLOCK), rows, 1, ELEMENTWISE_BLOCK, 1, 1, 0),
                    new KernelArgs().ptr(dst.data()).ptr(base.data()).ptr(a).ptr(bt).i32(rows).i32(cols).i32(rank));
        }
    }

    /**
     * Threads of the block that reduces one row: one per 16-byte chunk (Q8_0: 16 values, Q4_0: 32, F32/F16: one value
     * per thread), rounded up to whole warps, 32..{@value #MM_THREADS}. It depends on the row only, never on the
     * number of rows in the step, so a row's reduction order is the same in every batch.
     */
    static int rowThreads(GgmlType type, int cols) {
        int units = switch (type) {
            case Q8_0 -> cols / 16;
            case Q4_0 -> cols / 32;
            default -> cols;
        };
        return Math.min(MM_THREADS, Math.max(32, (units + 31) / 32 * 32));
    }

    /** The weight types the kernels read: F32, F16, Q8_0, Q4_0 (K-quants are converted on load). */
    static void checkType(GgmlType type) {
        switch (type) {
            case F32, F16, Q8_0, Q4_0 -> { }
            default -> throw new IllegalArgumentException("no CUDA kernel for tensor type " + type
                    + " (supported: F32, F16, Q8_0, Q4_0)");
        }
    }

    static int blocks(long n, int per) {
        long b = (n + per - 1) / per;
        if (b > Integer.MAX_VALUE) throw new IllegalArgumentException("grid too large: " + n + " items");
        return (int) Math.max(1, b);
    }

    private static void positive(String what, long v) {
        if (v <= 0) throw new IllegalArgumentException(what + " must be > 0, got " + v);
    }
}
