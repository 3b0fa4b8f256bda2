package dev.loracle.runtime.conformance;

import dev.loracle.runtime.engine.KvCacheType;
import dev.loracle.runtime.engine.Sampler;
import dev.loracle.runtime.lora.LoraMath;
import dev.loracle.runtime.lora.LoraMath.WeightedTarget;
import dev.loracle.runtime.tensor.GgmlType;
import dev.loracle.runtime.tensor.MatVec;
import dev.loracle.runtime.tensor.ParallelRunner;
import dev.loracle.runtime.tensor.QuantizedTensor;
import dev.loracle.runtime.tensor.Quantization;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/** The CPU backend's separately callable kernels: MatVec, Quantization, LoraMath, Sampler.argmax. */
final class CpuKernelOps implements KernelOps {
    private final ParallelRunner pool = new ParallelRunner(2);

    @Override
    public float[] matvec(QuantizedTensor w, float[] x) {
        float[] y = new float[Math.toIntExact(w.rows())];
        MatVec.matmul(pool, w, x, null, y, MatVec.DotMode.FLOAT);
        return y;
    }

    @Override public float[] rmsnorm(float[] x, float[] weight, float eps) { return null; }

    @Override public float[][] rope(float[] q, float[] k, int pos, int headSize, float theta) { return null; }

    @Override
    public float[] attention(float[] q, float[][] keys, float[][] values, int nHeads, int nKvHeads, int headSize, KvCacheType kv) {
        return null;
    }

    @Override public float[] swiglu(float[] gate, float[] up) { return null; }

    @Override public int argmax(float[] x) { return Sampler.argmax(x, x.length); }

    @Override
    public byte[] quantize(GgmlType type, float[] x) {
        byte[] out = new byte[Math.toIntExact(type.bytesFor(x.length))];
        Quantization.quantize(type, x, 0, x.length, MemorySegment.ofArray(out), 0);
        return out;
    }

    @Override
    public float[] dequantize(GgmlType type, byte[] data, int n) {
        float[] out = new float[n];
        Quantization.dequantize(type, MemorySegment.ofArray(data), 0, out, 0, n);
        return out;
    }

    /** What CpuBackend.mergeInto does per tensor: dequantize, LoraMath.addComposite, requantize. */
    @Override
    public byte[] merge(QuantizedTensor base, List<WeightedTarget> deltas) {
        int rows = Math.toIntExact(base.rows()), cols = Math.toIntExact(base.cols());
        float[] w = new float[rows * cols];
        for (int r = 0; r < rows; r++) base.dequantizeRow(r, w, r * cols);
        LoraMath.addComposite(w, rows, cols, deltas);
        return quantize(base.type(), w);
    }

    @Override
    public float[] lowRankAdd(float[] x, float[] y, List<WeightedTarget> deltas) {
        return dev.loracle.runtime.engine.StepHarness.cpuLowRankAdd(x, y, deltas);
    }

    @Override
    public void close() { pool.close(); }

    static float[] floats(MemorySegment s) { return s.toArray(ValueLayout.JAVA_FLOAT); }
}
