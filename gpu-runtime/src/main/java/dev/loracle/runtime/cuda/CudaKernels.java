package dev.loracle.runtime.cuda;

import dev.loracle.runtime.tensor.GgmlType;

import java.util.Objects;

/**
 * Typed launchers for the kernels in src/main/cuda: each picks the entry point, the launch shape and packs the
 * arguments in the order of the CUDA C signature. Launch shapes: matrix kernels run one warp per output row
 * (blockDim 32 x {@value #WARPS_PER_BLOCK}), row-wise reductions one block per row, element-wise kernels 256 threads.
 */
public final class CudaKernels {
    /** Warps per block of the matrix kernels. */
    public static final int WARPS_PER_BLOCK = 4;
    /** Largest batch of one matmul launch (MAX_BATCH in matmul.cu); larger batches are split. */
    public static final int MAX_BATCH = 8;
    static final int ELEMENTWISE_BLOCK = 256;
    static final int REDUCTION_BLOCK = 256;
    static final int ARGMAX_BLOCK = 1024;
    static final int ATTENTION_BLOCK = 128;
    static final int LORA_TILE = 16;

    private final KernelLauncher launcher;

    public CudaKernels(KernelLauncher launcher) {
        this.launcher = Objects.requireNonNull(launcher, "launcher");
    }

    /** y[rows] (+)= W[rows x cols] x[cols]. */
    public void matvec(GgmlType type, DevicePtr w, DevicePtr x, DevicePtr y, int rows, int cols, boolean accumulate) {
        checkMatrix(type, rows, cols);
        launcher.launch("matvec_" + suffix(type), rowWarps(rows),
                new KernelArgs().ptr(w).ptr(x).ptr(y).i32(rows).i32(cols).i32(accumulate ? 1 : 0));
    }

    /** Y[n x rows] (+)= X[n x cols] W^T for any n >= 1 (split into launches of at most {@link #MAX_BATCH}). */
    public void matmul(GgmlType type, DevicePtr w, DevicePtr x, DevicePtr y, int rows, int cols, int n, boolean accumulate) {
        checkMatrix(type, rows, cols);
        if (n <= 0) throw new IllegalArgumentException("batch must be >= 1, got " + n);
        for (int b0 = 0; b0 < n; b0 += MAX_BATCH) {
            int nb = Math.min(MAX_BATCH, n - b0);
            launcher.launch("matmul_" + suffix(type), rowWarps(rows),
                    new KernelArgs().ptr(w).ptr(x.offset(4L * b0 * cols)).ptr(y.offset(4L * b0 * rows))
                            .i32(rows).i32(cols).i32(nb).i32(accumulate ? 1 : 0));
        }
    }

    /** out[batch x n] = rmsnorm(x[batch x n]) * weight[n]. */
    public void rmsnorm(DevicePtr out, DevicePtr x, DevicePtr weight, int n, int batch, float eps) {
        positive("n", n);
        positive("batch", batch);
        launcher.launch("rmsnorm_f32", LaunchConfig.linear(batch, REDUCTION_BLOCK),
                new KernelArgs().ptr(out).ptr(x).ptr(weight).i32(n).f32(eps));
    }

    public void rope(DevicePtr q, DevicePtr k, int pos, int dim, int kvDim, int headSize, float theta) {
        if (dim % 2 != 0 || headSize % 2 != 0) throw new IllegalArgumentException("RoPE needs even dim and head size");
        int pairs = dim / 2;
        launcher.launch("rope_f32", LaunchConfig.linear(blocks(pairs, ELEMENTWISE_BLOCK), ELEMENTWISE_BLOCK),
                new KernelArgs().ptr(q).ptr(k).i32(pos).i32(dim).i32(kvDim).i32(headSize).f32(theta));
    }

    public void kvStoreF32(DevicePtr kCache, DevicePtr vCache, DevicePtr k, DevicePtr v, int pos, int kvDim) {
        launcher.launch("kv_store_f32", LaunchConfig.linear(blocks(kvDim, ELEMENTWISE_BLOCK), ELEMENTWISE_BLOCK),
                new KernelArgs().ptr(kCache).ptr(vCache).ptr(k).ptr(v).i32(pos).i32(kvDim));
    }

    public void kvStoreInt8(DevicePtr kq, DevicePtr kScale, DevicePtr vq, DevicePtr vScale, DevicePtr k, DevicePtr v,
                            int pos, int nKvHeads, int headSize) {
        if (headSize > 1024) throw new IllegalArgumentException("int8 KV cache supports head size <= 1024, got " + headSize);
        int block = Math.max(32, (headSize + 31) / 32 * 32);
        launcher.launch("kv_store_int8", LaunchConfig.linear(nKvHeads, block),
                new KernelArgs().ptr(kq).ptr(kScale).ptr(vq).ptr(vScale).ptr(k).ptr(v).i32(pos).i32(nKvHeads).i32(headSize));
    }

    public void attentionF32(DevicePtr out, DevicePtr q, DevicePtr kCache, DevicePtr vCache, DevicePtr att,
                             int pos, int seqLen, int nHeads, int nKvHeads, int headSize) {
        checkAttention(pos, seqLen, nHeads, nKvHeads);
        launcher.launch("attention_f32", LaunchConfig.linear(nHeads, ATTENTION_BLOCK),
                new KernelArgs().ptr(out).ptr(q).ptr(kCache).ptr(vCache).ptr(att)
                        .i32(pos).i32(seqLen).i32(nHeads).i32(nKvHeads).i32(headSize));
    }

    public void attentionInt8(DevicePtr out, DevicePtr q, DevicePtr kq, DevicePtr kScale, DevicePtr vq, DevicePtr vScale,
                              DevicePtr att, int pos, int seqLen, int nHeads, int nKvHeads, int headSize) {
        checkAttention(pos, seqLen, nHeads, nKvHeads);
        launcher.launch("attention_int8", LaunchConfig.linear(nHeads, ATTENTION_BLOCK),
                new KernelArgs().ptr(out).ptr(q).ptr(kq).ptr(kScale).ptr(vq).ptr(vScale).ptr(att)
                        .i32(pos).i32(seqLen).i32(nHeads).i32(nKvHeads).i32(headSize));
    }

    public void swiglu(DevicePtr hb, DevicePtr hb2, int n) {
        launcher.launch("swiglu_f32", LaunchConfig.linear(blocks(n, ELEMENTWISE_BLOCK), ELEMENTWISE_BLOCK),
                new KernelArgs().ptr(hb).ptr(hb2).i32(n));
    }

    public void add(DevicePtr x, DevicePtr y, int n) {
        launcher.launch("add_f32", LaunchConfig.linear(blocks(n, ELEMENTWISE_BLOCK), ELEMENTWISE_BLOCK),
                new KernelArgs().ptr(x).ptr(y).i32(n));
    }

    /** result[0] = index of the largest of x[0..n) (lowest index on ties). */
    public void argmax(DevicePtr x, int n, DevicePtr result) {
        positive("n", n);
        launcher.launch("argmax_f32", LaunchConfig.linear(1, ARGMAX_BLOCK), new KernelArgs().ptr(x).i32(n).ptr(result));
    }

    /** dst[n] (F32) = decode(src) for n elements of {@code type} starting at src. */
    public void dequantize(GgmlType type, DevicePtr src, DevicePtr dst, long n) {
        checkElements(type, n);
        launcher.launch("dequantize_" + suffix(type), LaunchConfig.linear(blocks(n, ELEMENTWISE_BLOCK), ELEMENTWISE_BLOCK),
                new KernelArgs().ptr(src).ptr(dst).i64(n));
    }

    /** dst = encode(src[n]) as {@code type} with llama.cpp's reference rounding (F16, Q8_0, Q4_0). */
    public void quantize(GgmlType type, DevicePtr src, DevicePtr dst, long n) {
        checkElements(type, n);
        switch (type) {
            case F16 -> launcher.launch("quantize_f16", LaunchConfig.linear(blocks(n, ELEMENTWISE_BLOCK), ELEMENTWISE_BLOCK),
                    new KernelArgs().ptr(src).ptr(dst).i64(n));
            case Q8_0, Q4_0 -> {
                long nBlocks = n / GgmlType.QK;
                launcher.launch("quantize_" + suffix(type), LaunchConfig.linear(blocks(nBlocks, ELEMENTWISE_BLOCK), ELEMENTWISE_BLOCK),
                        new KernelArgs().ptr(src).ptr(dst).i64(nBlocks));
            }
            default -> throw new IllegalArgumentException("no quantize kernel for " + type + " (F32 needs none)");
        }
    }

    /** W[out x in] += coef * B[out x rank] A[rank x in] (the MERGED path, on an F32 working copy). */
    public void loraMergeAdd(DevicePtr w, DevicePtr b, DevicePtr a, int out, int in, int rank, float coef) {
        positive("out", out);
        positive("in", in);
        positive("rank", rank);
        launcher.launch("lora_merge_add",
                new LaunchConfig(blocks(in, LORA_TILE), blocks(out, LORA_TILE), 1, LORA_TILE, LORA_TILE, 1, 0),
                new KernelArgs().ptr(w).ptr(b).ptr(a).i32(out).i32(in).i32(rank).f32(coef));
    }

    /** y[out] += coef * B[out x rank] t[rank] (second half of the UNMERGED path; t = A x comes from matvec F32). */
    public void loraUpAdd(DevicePtr y, DevicePtr b, DevicePtr t, int out, int rank, float coef) {
        positive("out", out);
        positive("rank", rank);
        launcher.launch("lora_up_add", LaunchConfig.linear(blocks(out, ELEMENTWISE_BLOCK), ELEMENTWISE_BLOCK),
                new KernelArgs().ptr(y).ptr(b).ptr(t).i32(out).i32(rank).f32(coef));
    }

    static String suffix(GgmlType type) {
        return switch (type) {
            case F32 -> "f32";
            case F16 -> "f16";
            case Q8_0 -> "q8_0";
            case Q4_0 -> "q4_0";
            default -> throw new IllegalArgumentException("no CUDA kernel for tensor type " + type
                    + " (supported: F32, F16, Q8_0, Q4_0)");
        };
    }

    private static LaunchConfig rowWarps(int rows) {
        return new LaunchConfig(blocks(rows, WARPS_PER_BLOCK), 1, 1, 32, WARPS_PER_BLOCK, 1, 0);
    }

    static int blocks(long n, int per) {
        long b = (n + per - 1) / per;
        if (b > Integer.MAX_VALUE) throw new IllegalArgumentException("grid too large: " + n + " items");
        return (int) Math.max(1, b);
    }

    private static void checkMatrix(GgmlType type, int rows, int cols) {
        positive("rows", rows);
        positive("cols", cols);
        suffix(type);
        if (cols % type.blockSize() != 0) {
            throw new IllegalArgumentException(type + " matrix needs a row length that is a multiple of "
                    + type.blockSize() + ", got " + cols);
        }
    }

    private static void checkElements(GgmlType type, long n) {
        if (n <= 0) throw new IllegalArgumentException("element count must be > 0, got " + n);
        suffix(type);
        if (n % type.blockSize() != 0) {
            throw new IllegalArgumentException(type + " needs a multiple of " + type.blockSize() + " elements, got " + n);
        }
    }

    private static void checkAttention(int pos, int seqLen, int nHeads, int nKvHeads) {
        if (pos < 0 || pos >= seqLen) throw new IllegalArgumentException("position " + pos + " outside the cache of " + seqLen);
        if (nKvHeads <= 0 || nHeads % nKvHeads != 0) {
            throw new IllegalArgumentException("heads " + nHeads + " is not a multiple of kv heads " + nKvHeads);
        }
    }

    private static void positive(String what, long v) {
        if (v <= 0) throw new IllegalArgumentException(what + " must be > 0, got " + v);
    }
}
