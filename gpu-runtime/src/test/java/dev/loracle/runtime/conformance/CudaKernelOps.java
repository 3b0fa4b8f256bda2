package dev.loracle.runtime.conformance;

import dev.loracle.runtime.cuda.CudaDevice;
import dev.loracle.runtime.cuda.DeviceRuntime;
import dev.loracle.runtime.cuda.KernelLauncher;
import dev.loracle.runtime.cuda.CudaKernels;
import dev.loracle.runtime.cuda.DeviceBuffer;
import dev.loracle.runtime.cuda.DeviceMemoryPool;
import dev.loracle.runtime.cuda.PtxModules;
import dev.loracle.runtime.lora.LoraMath.WeightedTarget;
import dev.loracle.runtime.lora.LoraTarget;
import dev.loracle.runtime.memory.MemoryBudget;
import dev.loracle.runtime.memory.MemoryCategory;
import dev.loracle.runtime.tensor.GgmlType;
import dev.loracle.runtime.tensor.QuantizedTensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * Each CUDA kernel on its own: host arrays are uploaded, one launcher runs, the result is read back. Runs on a GPU
 * ({@link #onGpu()}) or on the host emulation of the kernel sources ({@code EmulatedCuda}).
 */
final class CudaKernelOps implements KernelOps {
    private final DeviceRuntime device;
    private final DeviceMemoryPool pool;
    private final AutoCloseable launcherOwner;
    private final CudaKernels k;
    private final List<DeviceBuffer> live = new ArrayList<>();

    CudaKernelOps(DeviceRuntime device, KernelLauncher launcher, AutoCloseable launcherOwner) {
        this.device = device;
        this.pool = new DeviceMemoryPool(device, new MemoryBudget(device.label(), 1L << 30));
        this.launcherOwner = launcherOwner;
        this.k = new CudaKernels(launcher);
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

    @Override
    public float[] matvec(QuantizedTensor w, float[] x) {
        DeviceBuffer dw = up(w.bytes()), dx = up(x), dy = zeros(4 * w.rows());
        k.matvec(w.type(), dw.ptr(), dx.ptr(), dy.ptr(), (int) w.rows(), (int) w.cols(), false);
        return down(dy, (int) w.rows());
    }

    @Override
    public float[][] matmul(QuantizedTensor w, float[][] xs) {
        int n = xs.length, cols = (int) w.cols(), rows = (int) w.rows();
        float[] flat = new float[n * cols];
        for (int i = 0; i < n; i++) System.arraycopy(xs[i], 0, flat, i * cols, cols);
        DeviceBuffer dw = up(w.bytes()), dx = up(flat), dy = zeros(4L * n * rows);
        k.matmul(w.type(), dw.ptr(), dx.ptr(), dy.ptr(), rows, cols, n, false);
        float[] y = down(dy, n * rows);
        float[][] out = new float[n][rows];
        for (int i = 0; i < n; i++) System.arraycopy(y, i * rows, out[i], 0, rows);
        return out;
    }

    @Override
    public float[] rmsnorm(float[] x, float[] weight, float eps) {
        DeviceBuffer dx = up(x), dw = up(weight), out = zeros(4L * x.length);
        k.rmsnorm(out.ptr(), dx.ptr(), dw.ptr(), x.length, 1, eps);
        return down(out, x.length);
    }

    @Override
    public float[][] rope(float[] q, float[] kv, int pos, int headSize, float theta) {
        DeviceBuffer dq = up(q), dk = up(kv);
        k.rope(dq.ptr(), dk.ptr(), pos, q.length, kv.length, headSize, theta);
        float[] rq = new float[q.length];
        device.downloadFloats(dq.ptr(), rq, q.length);
        return new float[][] {rq, down(dk, kv.length)};
    }

    @Override
    public float[] attention(float[] q, float[][] keys, float[][] values, int nHeads, int nKvHeads, int headSize, boolean int8) {
        int span = keys.length, kvDim = nKvHeads * headSize;
        DeviceBuffer dq = up(q), att = zeros(4L * nHeads * span), out = zeros(4L * nHeads * headSize);
        if (!int8) {
            DeviceBuffer kc = zeros(4L * span * kvDim), vc = zeros(4L * span * kvDim);
            for (int t = 0; t < span; t++) {
                DeviceBuffer kt = up(keys[t]), vt = up(values[t]);
                k.kvStoreF32(kc.ptr(), vc.ptr(), kt.ptr(), vt.ptr(), t, kvDim);
            }
            k.attentionF32(out.ptr(), dq.ptr(), kc.ptr(), vc.ptr(), att.ptr(), span - 1, span, nHeads, nKvHeads, headSize);
        } else {
            DeviceBuffer kq = zeros((long) span * kvDim), vq = zeros((long) span * kvDim);
            DeviceBuffer ks = zeros(4L * span * nKvHeads), vs = zeros(4L * span * nKvHeads);
            for (int t = 0; t < span; t++) {
                DeviceBuffer kt = up(keys[t]), vt = up(values[t]);
                k.kvStoreInt8(kq.ptr(), ks.ptr(), vq.ptr(), vs.ptr(), kt.ptr(), vt.ptr(), t, nKvHeads, headSize);
            }
            k.attentionInt8(out.ptr(), dq.ptr(), kq.ptr(), ks.ptr(), vq.ptr(), vs.ptr(), att.ptr(), span - 1, span,
                    nHeads, nKvHeads, headSize);
        }
        return down(out, nHeads * headSize);
    }

    @Override
    public float[] swiglu(float[] gate, float[] upv) {
        DeviceBuffer g = up(gate), u = up(upv);
        k.swiglu(g.ptr(), u.ptr(), gate.length);
        return down(g, gate.length);
    }

    @Override
    public int argmax(float[] x) {
        DeviceBuffer dx = up(x), r = zeros(4);
        k.argmax(dx.ptr(), x.length, r.ptr());
        int v = device.downloadInt(r.ptr());
        freeAll();
        return v;
    }

    @Override
    public byte[] quantize(GgmlType type, float[] x) {
        long bytes = type.bytesFor(x.length);
        DeviceBuffer dx = up(x), out = zeros(bytes);
        if (type == GgmlType.F32) return downBytes(dx, bytes);
        k.quantize(type, dx.ptr(), out.ptr(), x.length);
        return downBytes(out, bytes);
    }

    @Override
    public float[] dequantize(GgmlType type, byte[] data, int n) {
        DeviceBuffer src = up(MemorySegment.ofArray(data)), out = zeros(4L * n);
        k.dequantize(type, src.ptr(), out.ptr(), n);
        return down(out, n);
    }

    @Override
    public byte[] merge(QuantizedTensor base, List<WeightedTarget> deltas) {
        int rows = (int) base.rows(), cols = (int) base.cols();
        long n = (long) rows * cols;
        DeviceBuffer w = up(base.bytes()), f32 = zeros(4 * n);
        k.dequantize(base.type(), w.ptr(), f32.ptr(), n);
        for (WeightedTarget wt : deltas) {
            LoraTarget t = wt.target();
            DeviceBuffer a = up(t.a()), b = up(t.b());
            k.loraMergeAdd(f32.ptr(), b.ptr(), a.ptr(), rows, cols, t.rank(), wt.weight() * t.scale());
        }
        if (base.type() == GgmlType.F32) return downBytes(f32, 4 * n);
        DeviceBuffer out = zeros(base.byteSize());
        k.quantize(base.type(), f32.ptr(), out.ptr(), n);
        return downBytes(out, base.byteSize());
    }

    @Override
    public float[] lowRankAdd(float[] x, float[] y, List<WeightedTarget> deltas) {
        DeviceBuffer dx = up(x), dy = up(y);
        int maxRank = deltas.stream().mapToInt(d -> d.target().rank()).max().orElse(1);
        DeviceBuffer t = zeros(4L * maxRank);
        for (WeightedTarget wt : deltas) {
            LoraTarget lt = wt.target();
            DeviceBuffer a = up(lt.a()), b = up(lt.b());
            k.matvec(GgmlType.F32, a.ptr(), dx.ptr(), t.ptr(), lt.rank(), lt.in(), false);
            k.loraUpAdd(dy.ptr(), b.ptr(), t.ptr(), lt.out(), lt.rank(), wt.weight() * lt.scale());
        }
        return down(dy, y.length);
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
