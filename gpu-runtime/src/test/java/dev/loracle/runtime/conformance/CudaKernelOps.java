package dev.loracle.runtime.conformance;

import dev.loracle.runtime.cuda.BatchKernels;
import dev.loracle.runtime.cuda.CudaDevice;
import dev.loracle.runtime.cuda.PackedLayout;
import dev.loracle.runtime.cuda.DeviceRuntime;
import dev.loracle.runtime.cuda.KernelLauncher;
import dev.loracle.runtime.cuda.DeviceBuffer;
import dev.loracle.runtime.cuda.DeviceMemoryPool;
import dev.loracle.runtime.cuda.PtxModules;
import dev.loracle.runtime.engine.KvCacheType;
import dev.loracle.runtime.lora.LoraMath.WeightedTarget;
import dev.loracle.runtime.lora.LoraTarget;
import dev.loracle.runtime.memory.MemoryBudget;
import dev.loracle.runtime.memory.MemoryCategory;
import dev.loracle.runtime.tensor.GgmlType;
import dev.loracle.runtime.tensor.QuantizedTensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Each CUDA kernel on its own: host arrays are uploaded, one launcher runs, the result is read back. Runs on a GPU
 * ({@link #onGpu()}) or on the host emulation of the kernel sources ({@code EmulatedCuda}).
 */
final class CudaKernelOps implements KernelOps {
    private final DeviceRuntime device;
    private final DeviceMemoryPool pool;
    private final AutoCloseable launcherOwner;
    private final BatchKernels bk;
    private final List<DeviceBuffer> live = new ArrayList<>();

    CudaKernelOps(DeviceRuntime device, KernelLauncher launcher, AutoCloseable launcherOwner) {
        this.device = device;
        this.pool = new DeviceMemoryPool(device, new MemoryBudget(device.label(), 1L << 30));
        this.launcherOwner = launcherOwner;
        this.bk = new BatchKernels(launcher);
    }

    static CudaKernelOps onGpu() {
        CudaDevice d = CudaDevice.open(0);
        PtxModules m = new PtxModules(d);
        return new CudaKernelOps(d, m, m);
    }

    private DeviceBuffer up(MemorySegment s) {
        DeviceBuffer b = pool.allocate(MemoryCategory.SCRATCH, Math.max(4, s.byteSize()), "kernel-ops");
        if (s.byteSize() > 0) device.upload(s, b.ptr());
        live.add(b);
        return b;
    }

    private DeviceBuffer up(float[] x) { return up(MemorySegment.ofArray(x)); }

    private DeviceBuffer up(int[] x) { return up(MemorySegment.ofArray(x)); }

    private DeviceBuffer zeros(long bytes) {
        DeviceBuffer b = pool.allocate(MemoryCategory.SCRATCH, bytes, "kernel-ops");
        device.memsetZero(b.ptr(), bytes);
        live.add(b);
        return b;
    }

    private float[] down(DeviceBuffer b, int n) {
        float[] out = new float[n];
        device.downloadFloats(b.ptr(), out, n);
        freeAll();
        return out;
    }

    private byte[] downBytes(DeviceBuffer b, long n) {
        byte[] out = new byte[Math.toIntExact(n)];
        device.download(b.ptr(), MemorySegment.ofArray(out));
        freeAll();
        return out;
    }

    private void freeAll() {
        device.synchronize();
        live.forEach(DeviceBuffer::close);
        live.clear();
    }

    /** Uploads a weight matrix in the device layout the backend uses (Q8_0/Q4_0 repacked, see PackedLayout). */
    private BatchKernels.Weights upWeights(QuantizedTensor w) {
        int rows = (int) w.rows(), cols = (int) w.cols();
        MemorySegment packed = MemorySegment.ofArray(new byte[Math.toIntExact(w.byteSize())]);
        PackedLayout.pack(w.type(), w.bytes(), packed, rows, cols);
        return BatchKernels.Weights.of(w.type(), up(packed).ptr(), rows, cols);
    }

    private static float[] flat(float[][] xs) {
        int cols = xs[0].length;
        float[] f = new float[xs.length * cols];
        for (int i = 0; i < xs.length; i++) System.arraycopy(xs[i], 0, f, i * cols, cols);
        return f;
    }

    private static float[][] rows(float[] y, int n, int width) {
        float[][] out = new float[n][width];
        for (int i = 0; i < n; i++) System.arraycopy(y, i * width, out[i], 0, width);
        return out;
    }

    @Override
    public float[] matvec(QuantizedTensor w, float[] x) {
        return matmul(w, new float[][] {x})[0];
    }

    @Override
    public float[][] matmul(QuantizedTensor w, float[][] xs) {
        int n = xs.length, rows = (int) w.rows();
        BatchKernels.Weights dw = upWeights(w);
        DeviceBuffer dx = up(flat(xs)), dy = zeros(4L * n * rows);
        bk.mm(dw, dx.ptr(), dy.ptr(), n, rows, false);
        return rows(down(dy, n * rows), n, rows);
    }

    @Override
    public float[][] gateUpSwiglu(QuantizedTensor gateUp, float[][] xs) {
        int n = xs.length, hidden = (int) gateUp.rows() / 2;
        BatchKernels.Weights dw = upWeights(gateUp);
        DeviceBuffer dx = up(flat(xs)), dh = zeros(4L * n * hidden);
        bk.mmSwiglu(dw, dx.ptr(), dh.ptr(), n);
        return rows(down(dh, n * hidden), n, hidden);
    }

    @Override
    public float[] rmsnorm(float[] x, float[] weight, float eps) {
        DeviceBuffer dx = up(x), dw = up(weight), out = zeros(4L * x.length);
        bk.rmsnormRows(out.ptr(), dx.ptr(), dw.ptr(), x.length, eps, 1, 1, x.length);
        return down(out, x.length);
    }

    /** cos/sin tables [positions][headSize/2] with the CPU backend's rounding (double angles rounded to float). */
    private DeviceBuffer[] ropeTables(int positions, int headSize, float theta, boolean identity) {
        int half = headSize / 2;
        float[] cos = new float[positions * half], sin = new float[positions * half];
        for (int p = 0; p < positions; p++) {
            for (int i = 0; i < half; i++) {
                float freq = 1.0f / (float) StrictMath.pow(theta, (2 * i) / (float) headSize);
                float val = p * freq;
                cos[p * half + i] = identity ? 1f : (float) StrictMath.cos(val);
                sin[p * half + i] = identity ? 0f : (float) StrictMath.sin(val);
            }
        }
        return new DeviceBuffer[] {up(cos), up(sin)};
    }

    /** KV blocks (one layer) in {@code pool}, and their addresses in REVERSED order in {@code table} (proves the paging). */
    private record Blocks(DeviceBuffer pool, DeviceBuffer table, int count) {}

    private Blocks blockTable(int positions, long blockBytes) {
        int nBlocks = (positions + 15) / 16;
        DeviceBuffer pool = zeros(blockBytes * nBlocks);
        long[] table = new long[nBlocks];
        for (int b = 0; b < nBlocks; b++) table[b] = pool.ptr().offset((nBlocks - 1 - b) * blockBytes).address();
        return new Blocks(pool, up(MemorySegment.ofArray(table)), nBlocks);
    }

    @Override
    public float[][] rope(float[] q, float[] kv, int pos, int headSize, float theta) {
        int nHeads = q.length / headSize, nKv = kv.length / headSize, width = q.length + 2 * kv.length;
        float[] qkv = new float[width];
        System.arraycopy(q, 0, qkv, 0, q.length);
        System.arraycopy(kv, 0, qkv, q.length, kv.length);
        DeviceBuffer[] t = ropeTables(pos + 1, headSize, theta, false);
        DeviceBuffer dqkv = up(qkv), table = blockTable(pos + 1, 2L * 16 * kv.length * 4).table();
        DeviceBuffer slot = up(new int[] {0}), dpos = up(new int[] {pos});
        bk.ropeKvStore(KvCacheType.F32, dqkv.ptr(), width, nHeads, nKv, headSize, t[0].ptr(), t[1].ptr(), false, table.ptr(),
                (pos + 16) / 16, 0, slot.ptr(), dpos.ptr(), 1);
        float[] out = down(dqkv, width);
        return new float[][] {Arrays.copyOfRange(out, 0, q.length), Arrays.copyOfRange(out, q.length, q.length + kv.length)};
    }

    /** Bytes of one layer's KV block of {@code kv} (kv_cache.cuh). */
    static long layerBlockBytes(KvCacheType kv, int nKvHeads, int headSize) {
        long rows = 16L * nKvHeads * headSize;
        return switch (kv) {
            case F32 -> 2 * rows * 4;
            case F16 -> 2 * rows * 2;
            case INT8 -> 2 * rows + 2L * 16 * nKvHeads * 4;
        };
    }

    /** Stores keys/values [t][kvDim] at positions 0..t-1 of one layer's blocks. */
    private Blocks store(KvCacheType kv, float[][] keys, float[][] values, int nHeads, int nKvHeads, int headSize) {
        int span = keys.length, kvDim = nKvHeads * headSize, qDim = nHeads * headSize, width = qDim + 2 * kvDim;
        Blocks blocks = blockTable(span, layerBlockBytes(kv, nKvHeads, headSize));
        DeviceBuffer[] t = ropeTables(span, headSize, 10000f, true);   // identity rotation: store only
        float[] rowsKv = new float[span * width];
        int[] pos = new int[span];
        for (int p = 0; p < span; p++) {
            System.arraycopy(keys[p], 0, rowsKv, p * width + qDim, kvDim);
            System.arraycopy(values[p], 0, rowsKv, p * width + qDim + kvDim, kvDim);
            pos[p] = p;
        }
        DeviceBuffer dkv = up(rowsKv), dpos = up(pos), slots = up(new int[span]);
        bk.ropeKvStore(kv, dkv.ptr(), width, nHeads, nKvHeads, headSize, t[0].ptr(), t[1].ptr(), false,
                blocks.table().ptr(), blocks.count(), 0, slots.ptr(), dpos.ptr(), span);
        return blocks;
    }

    /**
     * The raw bytes the RoPE + KV store kernel leaves in the first KV block (one layer, 16 positions) for keys/values
     * [t][kvDim], t <= 16, stored through the identity rotation.
     */
    byte[] storedBlock(KvCacheType kv, float[][] keys, float[][] values, int nKvHeads, int headSize) {
        if (keys.length > 16) throw new IllegalArgumentException("one block holds 16 positions");
        Blocks s = store(kv, keys, values, nKvHeads, nKvHeads, headSize);
        return downBytes(s.pool(), layerBlockBytes(kv, nKvHeads, headSize));
    }

    @Override
    public float[] attention(float[] q, float[][] keys, float[][] values, int nHeads, int nKvHeads, int headSize, KvCacheType kv) {
        int span = keys.length, qDim = nHeads * headSize, kvDim = nKvHeads * headSize;
        Blocks s = store(kv, keys, values, nHeads, nKvHeads, headSize);
        DeviceBuffer table = s.table();
        int maxBlocks = s.count();
        int chunks = BatchKernels.chunks(span);
        DeviceBuffer dq = up(q), qpos = up(new int[] {span - 1}), slot = up(new int[] {0});
        DeviceBuffer partial = zeros(4L * nHeads * chunks * (headSize + 2)), out = zeros(4L * qDim);
        bk.attention(kv, partial.ptr(), dq.ptr(), qDim, table.ptr(), maxBlocks, 0, kvDim, nKvHeads, slot.ptr(),
                qpos.ptr(), nHeads, headSize, 1, chunks);
        bk.attentionCombine(out.ptr(), qDim, partial.ptr(), qpos.ptr(), chunks, nHeads, headSize, 1);
        return down(out, qDim);
    }

    @Override
    public float[] swiglu(float[] gate, float[] upv) {
        float[] gu = new float[2 * gate.length];
        System.arraycopy(gate, 0, gu, 0, gate.length);
        System.arraycopy(upv, 0, gu, gate.length, upv.length);
        DeviceBuffer g = up(gu), h = zeros(4L * gate.length);
        bk.swigluRows(h.ptr(), g.ptr(), gate.length, 1);
        return down(h, gate.length);
    }

    @Override
    public int argmax(float[] x) {
        DeviceBuffer dx = up(x), r = zeros(4);
        bk.argmaxRows(dx.ptr(), x.length, 1, r.ptr());
        int v = device.downloadInt(r.ptr());
        freeAll();
        return v;
    }

    /** No separate quantize kernel: the fused merge requantizes in place (checked by the merge test). */
    @Override
    public byte[] quantize(GgmlType type, float[] x) { return null; }

    @Override
    public float[] dequantize(GgmlType type, byte[] data, int n) { return null; }

    /** Stacked A [rankSum x in] and pre-scaled B^T [rankSum x out] of a weighted set (what the MERGED attach uploads). */
    static float[][] stacked(List<WeightedTarget> deltas) {
        int rank = deltas.stream().mapToInt(d -> d.target().rank()).sum();
        LoraTarget first = deltas.getFirst().target();
        float[] a = new float[rank * first.in()], bt = new float[rank * first.out()];
        int k0 = 0;
        for (WeightedTarget wt : deltas) {
            LoraTarget t = wt.target();
            float c = wt.weight() * t.scale();
            for (int k = 0; k < t.rank(); k++) {
                for (int i = 0; i < t.in(); i++) a[(k0 + k) * t.in() + i] = t.aAt(k, i);
                for (int o = 0; o < t.out(); o++) bt[(k0 + k) * t.out() + o] = c * t.bAt(o, k);
            }
            k0 += t.rank();
        }
        return new float[][] {a, bt};
    }

    @Override
    public byte[] merge(QuantizedTensor base, List<WeightedTarget> deltas) {
        int rows = (int) base.rows(), cols = (int) base.cols();
        BatchKernels.Weights w = upWeights(base);
        DeviceBuffer dst = zeros(base.byteSize());
        float[][] ab = stacked(deltas);
        DeviceBuffer a = up(ab[0]), bt = up(ab[1]);
        bk.merge(BatchKernels.Weights.of(base.type(), dst.ptr(), rows, cols), w, a.ptr(), bt.ptr(), ab[0].length / cols);
        byte[] packed = new byte[Math.toIntExact(base.byteSize())];
        device.download(dst.ptr(), MemorySegment.ofArray(packed));
        freeAll();
        byte[] gguf = new byte[packed.length];
        PackedLayout.unpack(base.type(), MemorySegment.ofArray(packed), MemorySegment.ofArray(gguf), rows, cols);
        return gguf;
    }

    @Override
    public float[] lowRankAdd(float[] x, float[] y, List<WeightedTarget> deltas) {
        List<List<WeightedTarget>> sets = new ArrayList<>();
        sets.add(deltas);
        return lowRankSegments(new float[][] {x}, new float[][] {y}, sets)[0];
    }

    @Override
    public float[][] lowRankSegments(float[][] xs, float[][] ys, List<List<WeightedTarget>> setPerRow) {
        int n = xs.length, in = xs[0].length, out = ys[0].length;
        List<int[]> segs = new ArrayList<>();
        List<Long> ptrs = new ArrayList<>();
        List<Integer> info = new ArrayList<>();
        List<Float> coef = new ArrayList<>();
        int maxRankSum = 1;
        for (int r = 0; r < n; ) {
            List<WeightedTarget> set = setPerRow.get(r);
            int end = r + 1;
            while (end < n && setPerRow.get(end) == set) end++;
            if (set != null && !set.isEmpty()) {
                int m0 = coef.size(), off = 0;
                for (WeightedTarget wt : set) {
                    LoraTarget t = wt.target();
                    float[] bt = new float[t.rank() * t.out()];
                    for (int k = 0; k < t.rank(); k++) for (int o = 0; o < t.out(); o++) bt[k * t.out() + o] = t.bAt(o, k);
                    ptrs.add(up(t.a()).ptr().address());
                    ptrs.add(up(bt).ptr().address());
                    info.add(t.rank());
                    info.add(off);
                    coef.add(wt.weight() * t.scale());
                    off += t.rank();
                }
                maxRankSum = Math.max(maxRankSum, off);
                segs.add(new int[] {r, end, m0, coef.size()});
            }
            r = end;
        }
        DeviceBuffer dx = up(flat(xs)), dy = up(flat(ys)), t = zeros(4L * n * maxRankSum);
        if (!segs.isEmpty()) {
            int[] seg = new int[4 * segs.size()];
            for (int i = 0; i < segs.size(); i++) System.arraycopy(segs.get(i), 0, seg, 4 * i, 4);
            long[] p = ptrs.stream().mapToLong(Long::longValue).toArray();
            int[] inf = info.stream().mapToInt(Integer::intValue).toArray();
            float[] c = new float[coef.size()];
            for (int i = 0; i < c.length; i++) c[i] = coef.get(i);
            DeviceBuffer dseg = up(seg), dp = up(MemorySegment.ofArray(p)), di = up(inf), dc = up(c);
            bk.loraShrink(t.ptr(), maxRankSum, dx.ptr(), in, dseg.ptr(), dp.ptr(), di.ptr(), maxRankSum, segs.size());
            bk.loraExpand(dy.ptr(), out, t.ptr(), maxRankSum, out, dseg.ptr(), dp.ptr(), di.ptr(), dc.ptr(), segs.size());
        }
        return rows(down(dy, n * out), n, out);
    }

    @Override
    public void close() {
        freeAll();
        pool.close();
        try {
            if (launcherOwner != null) launcherOwner.close();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        device.close();
    }

    static float[] floats(MemorySegment s) { return s.toArray(ValueLayout.JAVA_FLOAT); }
}
