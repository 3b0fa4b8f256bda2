package dev.loracle.runtime.engine;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import dev.loracle.runtime.memory.Reservation;

/**
 * Host KV cache: per layer, positions x kvDim keys and values, as F32 or as int8 with one F32 scale per
 * (position, KV head) (scale = amax / 127), which cuts the cache to about a quarter.
 */
final class CpuKvCache implements KvCache {
    final KvCacheType type;
    final int positions;
    final int kvDim;
    final int headSize;
    final int nKv;
    final float[][] keyF, valF;
    final byte[][] keyQ, valQ;
    final float[][] keyScale, valScale;
    private final long bytes;
    private final Reservation reservation;

    CpuKvCache(int layers, int positions, int kvDim, int headSize, KvCacheType type, Reservation reservation) {
        this.type = type;
        this.positions = positions;
        this.kvDim = kvDim;
        this.headSize = headSize;
        this.nKv = kvDim / headSize;
        this.reservation = reservation;
        this.bytes = bytesFor(layers, positions, kvDim, headSize, type);
        if (type == KvCacheType.F32) {
            keyF = new float[layers][positions * kvDim];
            valF = new float[layers][positions * kvDim];
            keyQ = valQ = null;
            keyScale = valScale = null;
        } else {
            keyF = valF = null;
            keyQ = new byte[layers][positions * kvDim];
            valQ = new byte[layers][positions * kvDim];
            keyScale = new float[layers][positions * nKv];
            valScale = new float[layers][positions * nKv];
        }
    }

    static long bytesFor(int layers, int positions, int kvDim, int headSize, KvCacheType type) {
        long elems = 2L * layers * positions * kvDim;
        return type == KvCacheType.F32 ? elems * 4 : elems + 2L * layers * positions * (kvDim / headSize) * 4;
    }

    void store(int layer, int pos, float[] k, float[] v) {
        int off = pos * kvDim;
        if (type == KvCacheType.F32) {
            System.arraycopy(k, 0, keyF[layer], off, kvDim);
            System.arraycopy(v, 0, valF[layer], off, kvDim);
        } else {
            for (int h = 0; h < nKv; h++) {
                keyScale[layer][pos * nKv + h] = quantizeHead(k, h * headSize, keyQ[layer], off + h * headSize);
                valScale[layer][pos * nKv + h] = quantizeHead(v, h * headSize, valQ[layer], off + h * headSize);
            }
        }
    }

    private float quantizeHead(float[] src, int from, byte[] dst, int to) {
        float amax = 0;
        for (int i = 0; i < headSize; i++) amax = Math.max(amax, Math.abs(src[from + i]));
        float scale = amax / 127f;
        float inv = amax == 0 ? 0 : 127f / amax;
        for (int i = 0; i < headSize; i++) dst[to + i] = (byte) Math.round(src[from + i] * inv);
        return scale;
    }

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_64;
    private static final int L = F.length();

    /**
     * q[qOff..qOff+headSize) . key(layer, t, kvHead): 8-lane products accumulated per lane, lanes then summed in lane
     * order and the tail added last, so the result is the same on every machine.
     */
    float keyDot(int layer, int t, int kvHead, float[] q, int qOff) {
        int off = t * kvDim + kvHead * headSize;
        FloatVector acc = FloatVector.zero(F);
        int i = 0, upper = headSize - L;
        if (type == KvCacheType.F32) {
            float[] kc = keyF[layer];
            for (; i <= upper; i += L) acc = FloatVector.fromArray(F, q, qOff + i).fma(FloatVector.fromArray(F, kc, off + i), acc);
            float s = sumLanes(acc);
            for (; i < headSize; i++) s += q[qOff + i] * kc[off + i];
            return s;
        }
        byte[] kc = keyQ[layer];
        for (; i <= upper; i += L) {
            FloatVector k = (FloatVector) ByteVector.fromArray(B, kc, off + i).convertShape(VectorOperators.B2F, F, 0);
            acc = FloatVector.fromArray(F, q, qOff + i).fma(k, acc);
        }
        float s = sumLanes(acc);
        for (; i < headSize; i++) s += q[qOff + i] * kc[off + i];
        return s * keyScale[layer][t * nKv + kvHead];
    }

    private static float sumLanes(FloatVector v) {
        float s = 0f;
        for (int i = 0; i < L; i++) s += v.lane(i);
        return s;
    }

    /** out[outOff..) += a * value(layer, t, kvHead). */
    void addValue(int layer, int t, int kvHead, float a, float[] out, int outOff) {
        int off = t * kvDim + kvHead * headSize;
        if (type == KvCacheType.F32) {
            float[] vc = valF[layer];
            for (int i = 0; i < headSize; i++) out[outOff + i] += a * vc[off + i];
            return;
        }
        byte[] vc = valQ[layer];
        float as = a * valScale[layer][t * nKv + kvHead];
        for (int i = 0; i < headSize; i++) out[outOff + i] += as * vc[off + i];
    }

    @Override public int positions() { return positions; }
    @Override public KvCacheType type() { return type; }
    @Override public long bytes() { return bytes; }
    @Override public void close() { reservation.close(); }
}
