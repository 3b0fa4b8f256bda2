package dev.loracle.runtime.conformance;

import dev.loracle.runtime.engine.KvCacheType;
import dev.loracle.runtime.lora.LoraMath.WeightedTarget;
import dev.loracle.runtime.lora.LoraTarget;
import dev.loracle.runtime.tensor.GgmlType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * Plain scalar reference for every op, written here independently of the engine's code (its own GGUF decoder and
 * llama.cpp-rule quantizers), mostly in double precision so that it is the more accurate side of each comparison.
 */
final class ReferenceOps {
    private ReferenceOps() {}

    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    /** GGUF decode: Q8_0 = fp16 d + 32 int8; Q4_0 = fp16 d + 16 bytes, element j = lo nibble - 8, j+16 = hi nibble - 8. */
    static double[] decode(GgmlType type, MemorySegment data, long offset, int n) {
        double[] out = new double[n];
        switch (type) {
            case F32 -> { for (int i = 0; i < n; i++) out[i] = data.get(ValueLayout.JAVA_FLOAT_UNALIGNED, offset + 4L * i); }
            case F16 -> { for (int i = 0; i < n; i++) out[i] = Float.float16ToFloat(data.get(I16, offset + 2L * i)); }
            case Q8_0 -> {
                for (int b = 0; b < n / 32; b++) {
                    long o = offset + 34L * b;
                    double d = Float.float16ToFloat(data.get(I16, o));
                    for (int j = 0; j < 32; j++) out[b * 32 + j] = d * data.get(ValueLayout.JAVA_BYTE, o + 2 + j);
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < n / 32; b++) {
                    long o = offset + 18L * b;
                    double d = Float.float16ToFloat(data.get(I16, o));
                    for (int j = 0; j < 16; j++) {
                        int q = data.get(ValueLayout.JAVA_BYTE, o + 2 + j) & 0xFF;
                        out[b * 32 + j] = d * ((q & 0xF) - 8);
                        out[b * 32 + j + 16] = d * ((q >> 4) - 8);
                    }
                }
            }
            default -> throw new IllegalArgumentException(type.toString());
        }
        return out;
    }

    /** llama.cpp's quantize_row_*_ref in float arithmetic (the rounding rule is part of the format contract). */
    static byte[] encode(GgmlType type, float[] x) {
        int n = x.length;
        MemorySegment out = MemorySegment.ofArray(new byte[Math.toIntExact(type.bytesFor(n))]);
        switch (type) {
            case F32 -> MemorySegment.copy(x, 0, out, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, n);
            case F16 -> { for (int i = 0; i < n; i++) out.set(I16, 2L * i, Float.floatToFloat16(x[i])); }
            case Q8_0 -> {
                for (int b = 0; b < n / 32; b++) {
                    float amax = 0;
                    for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]));
                    float d = amax / 127f;
                    float id = d != 0 ? 1f / d : 0f;
                    out.set(I16, 34L * b, Float.floatToFloat16(d));
                    for (int j = 0; j < 32; j++) out.set(ValueLayout.JAVA_BYTE, 34L * b + 2 + j, (byte) roundHalfAway(x[b * 32 + j] * id));
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < n / 32; b++) {
                    float amax = 0, max = 0;
                    for (int j = 0; j < 32; j++) {
                        float v = x[b * 32 + j];
                        if (amax < Math.abs(v)) { amax = Math.abs(v); max = v; }
                    }
                    float d = max / -8f;
                    float id = d != 0 ? 1f / d : 0f;
                    out.set(I16, 18L * b, Float.floatToFloat16(d));
                    for (int j = 0; j < 16; j++) {
                        int q0 = Math.min(15, (byte) (int) (x[b * 32 + j] * id + 8.5f));
                        int q1 = Math.min(15, (byte) (int) (x[b * 32 + 16 + j] * id + 8.5f));
                        out.set(ValueLayout.JAVA_BYTE, 18L * b + 2 + j, (byte) (q0 | (q1 << 4)));
                    }
                }
            }
            default -> throw new IllegalArgumentException(type.toString());
        }
        return out.toArray(ValueLayout.JAVA_BYTE);
    }

    static long roundHalfAway(float v) {
        return (long) Math.copySign(Math.floor(Math.abs((double) v) + 0.5), v);
    }

    static double[] matvec(GgmlType type, MemorySegment w, int rows, int cols, float[] x) {
        double[] y = new double[rows];
        long rowBytes = type.bytesFor(cols);
        for (int r = 0; r < rows; r++) {
            double[] row = decode(type, w, r * rowBytes, cols);
            double s = 0;
            for (int i = 0; i < cols; i++) s += row[i] * x[i];
            y[r] = s;
        }
        return y;
    }

    /** sum_i |W_ri x_i| per row: the scale against which a float dot product's rounding error is judged. */
    static double[] matvecAbs(GgmlType type, MemorySegment w, int rows, int cols, float[] x) {
        double[] y = new double[rows];
        long rowBytes = type.bytesFor(cols);
        for (int r = 0; r < rows; r++) {
            double[] row = decode(type, w, r * rowBytes, cols);
            for (int i = 0; i < cols; i++) y[r] += Math.abs(row[i] * x[i]);
        }
        return y;
    }

    static double[] rmsnorm(float[] x, float[] w, float eps) {
        double ss = 0;
        for (float v : x) ss += (double) v * v;
        double inv = 1.0 / Math.sqrt(ss / x.length + eps);
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) out[i] = w[i] * inv * x[i];
        return out;
    }

    static double[] rope(float[] v, int pos, int headSize, float theta) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i += 2) {
            int hd = i % headSize;
            double freq = 1.0 / Math.pow(theta, hd / (double) headSize);
            double a = pos * freq;
            out[i] = v[i] * Math.cos(a) - v[i + 1] * Math.sin(a);
            out[i + 1] = v[i] * Math.sin(a) + v[i + 1] * Math.cos(a);
        }
        return out;
    }

    /** Per-head int8 round trip of one position's vector: scale = amax/127, q = round(x * 127/amax). */
    static float[] int8RoundTrip(float[] x, int headSize) {
        float[] out = new float[x.length];
        for (int h = 0; h < x.length / headSize; h++) {
            float amax = 0;
            for (int i = 0; i < headSize; i++) amax = Math.max(amax, Math.abs(x[h * headSize + i]));
            float scale = amax / 127f;
            float inv = amax == 0 ? 0 : 127f / amax;
            for (int i = 0; i < headSize; i++) out[h * headSize + i] = Math.round(x[h * headSize + i] * inv) * scale;
        }
        return out;
    }

    /** Round to nearest even IEEE binary16 and back (what an F16 cache keeps of x). */
    static float f16(float x) { return Float.float16ToFloat(Float.floatToFloat16(x)); }

    private static float[] f16(float[] x) {
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) out[i] = f16(x[i]);
        return out;
    }

    /**
     * Softmax attention in double over the cache's stored values: INT8 round trips k and v per head; F16 (the shared
     * F16 KV definition) rounds k, v and q to half and the normalised probabilities to half before they weight v.
     */
    static double[] attention(float[] q, float[][] keys, float[][] values, int nHeads, int nKvHeads, int headSize, KvCacheType kv) {
        int span = keys.length;
        float[][] k = keys, v = values;
        if (kv != KvCacheType.F32) {
            k = new float[span][];
            v = new float[span][];
            for (int t = 0; t < span; t++) {
                k[t] = kv == KvCacheType.F16 ? f16(keys[t]) : int8RoundTrip(keys[t], headSize);
                v[t] = kv == KvCacheType.F16 ? f16(values[t]) : int8RoundTrip(values[t], headSize);
            }
        }
        if (kv == KvCacheType.F16) q = f16(q);
        double[] out = new double[nHeads * headSize];
        int kvMul = nHeads / nKvHeads;
        for (int h = 0; h < nHeads; h++) {
            int kvh = h / kvMul;
            double[] s = new double[span];
            double max = Double.NEGATIVE_INFINITY;
            for (int t = 0; t < span; t++) {
                double d = 0;
                for (int i = 0; i < headSize; i++) d += (double) q[h * headSize + i] * k[t][kvh * headSize + i];
                s[t] = d / Math.sqrt(headSize);
                max = Math.max(max, s[t]);
            }
            double sum = 0;
            for (int t = 0; t < span; t++) { s[t] = Math.exp(s[t] - max); sum += s[t]; }
            for (int i = 0; i < headSize; i++) {
                double acc = 0;
                for (int t = 0; t < span; t++) {
                    double p = s[t] / sum;
                    acc += (kv == KvCacheType.F16 ? f16((float) p) : p) * v[t][kvh * headSize + i];
                }
                out[h * headSize + i] = acc;
            }
        }
        return out;
    }

    static double[] swiglu(float[] g, float[] u) {
        double[] out = new double[g.length];
        for (int i = 0; i < g.length; i++) out[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
        return out;
    }

    /** dequantize(W) + sum w_i s_i B_i A_i in double, rounded to float (what the working copy is requantized from). */
    static float[] mergedF32(GgmlType type, MemorySegment w, int rows, int cols, List<WeightedTarget> deltas) {
        double[] base = decode(type, w, 0, rows * cols);
        for (WeightedTarget wt : deltas) {
            LoraTarget t = wt.target();
            double c = (double) wt.weight() * t.scale();
            for (int r = 0; r < rows; r++) {
                for (int i = 0; i < cols; i++) {
                    double s = 0;
                    for (int k = 0; k < t.rank(); k++) s += (double) t.bAt(r, k) * t.aAt(k, i);
                    base[r * cols + i] += c * s;
                }
            }
        }
        float[] out = new float[base.length];
        for (int i = 0; i < out.length; i++) out[i] = (float) base[i];
        return out;
    }

    static double[] lowRankAdd(float[] x, float[] y, List<WeightedTarget> deltas) {
        double[] out = new double[y.length];
        for (int i = 0; i < y.length; i++) out[i] = y[i];
        for (WeightedTarget wt : deltas) {
            LoraTarget t = wt.target();
            double[] tmp = new double[t.rank()];
            for (int k = 0; k < t.rank(); k++) for (int i = 0; i < t.in(); i++) tmp[k] += (double) t.aAt(k, i) * x[i];
            for (int r = 0; r < t.out(); r++) {
                double s = 0;
                for (int k = 0; k < t.rank(); k++) s += (double) t.bAt(r, k) * tmp[k];
                out[r] += (double) wt.weight() * t.scale() * s;
            }
        }
        return out;
    }
}
