package dev.loracle.runtime.engine;

import java.util.ArrayList;
import java.util.List;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Host paged KV cache: each block holds {@link #BLOCK_POSITIONS} positions of every layer's keys and values, as F32,
 * as F16 (half the bytes; the attention then rounds q and the softmax weights to F16 too, see {@link CpuAttention})
 * or as int8 with one F32 scale per (position, KV head) (scale = amax / 127, about a quarter of the bytes).
 * Blocks are heap arrays made on {@link #acquire} and dropped on {@link #release}.
 */
final class CpuKvBlocks implements KvBlockStorage {
    private final KvCacheType type;
    private final int layers, kvDim, headDim, nKv;
    private final List<Block> blocks = new ArrayList<>();

    CpuKvBlocks(KvCacheType type, int layers, int kvDim, int headDim) {
        this.type = type;
        this.layers = layers;
        this.kvDim = kvDim;
        this.headDim = headDim;
        this.nKv = kvDim / headDim;
    }

    static long blockBytes(KvCacheType type, int layers, int kvDim, int headDim) {
        return type.blockBytes(layers, kvDim, headDim);
    }

    @Override public KvCacheType type() { return type; }
    @Override public long blockBytes() { return blockBytes(type, layers, kvDim, headDim); }

    @Override
    public synchronized void acquire(int id) {
        while (blocks.size() <= id) blocks.add(null);
        if (blocks.get(id) != null) throw new IllegalStateException("KV block " + id + " is already in use");
        blocks.set(id, new Block());
    }

    @Override
    public synchronized void release(int id) {
        if (id >= blocks.size() || blocks.get(id) == null) throw new IllegalStateException("KV block " + id + " is not in use");
        blocks.set(id, null);
    }

    synchronized Block block(int id) {
        Block b = id < blocks.size() ? blocks.get(id) : null;
        if (b == null) throw new IllegalStateException("KV block " + id + " is not in use");
        return b;
    }

    @Override
    public byte[] readBlock(int id) {
        Block b = block(id);
        java.nio.ByteBuffer out = java.nio.ByteBuffer.allocate((int) blockBytes()).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        if (type == KvCacheType.F32) {
            out.asFloatBuffer().put(b.keyF).put(b.valF);
        } else if (type == KvCacheType.F16) {
            out.asShortBuffer().put(b.keyH).put(b.valH);
        } else {
            out.put(b.keyQ).put(b.valQ);
            out.asFloatBuffer().put(b.keyScale).put(b.valScale);
        }
        return out.array();
    }

    @Override
    public void writeBlock(int id, byte[] rows) {
        if (rows.length != blockBytes()) throw new IllegalArgumentException("a KV block has " + blockBytes() + " bytes, got " + rows.length);
        Block b = block(id);
        java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(rows).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        if (type == KvCacheType.F32) {
            in.asFloatBuffer().get(b.keyF).get(b.valF);
        } else if (type == KvCacheType.F16) {
            in.asShortBuffer().get(b.keyH).get(b.valH);
        } else {
            in.get(b.keyQ).get(b.valQ);
            in.asFloatBuffer().get(b.keyScale).get(b.valScale);
        }
    }

    @Override
    public synchronized void close() { blocks.clear(); }

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_64;
    private static final int L = F.length();

    /** One block: element (layer, slot, kvHead, i) at ((layer * BLOCK + slot) * kvDim + kvHead * headDim + i). */
    final class Block {
        private final float[] keyF, valF;
        private final short[] keyH, valH;
        private final byte[] keyQ, valQ;
        private final float[] keyScale, valScale;

        Block() {
            int n = layers * BLOCK_POSITIONS * kvDim;
            keyF = type == KvCacheType.F32 ? new float[n] : null;
            valF = type == KvCacheType.F32 ? new float[n] : null;
            keyH = type == KvCacheType.F16 ? new short[n] : null;
            valH = type == KvCacheType.F16 ? new short[n] : null;
            if (type != KvCacheType.INT8) {
                keyQ = valQ = null;
                keyScale = valScale = null;
            } else {
                keyQ = new byte[n];
                valQ = new byte[n];
                keyScale = new float[layers * BLOCK_POSITIONS * nKv];
                valScale = new float[layers * BLOCK_POSITIONS * nKv];
            }
        }

        /** Stores k and v (kvDim floats each, from kOff / vOff) at (layer, slot). */
        void store(int layer, int slot, float[] k, int kOff, float[] v, int vOff) {
            int off = (layer * BLOCK_POSITIONS + slot) * kvDim;
            if (type == KvCacheType.F32) {
                System.arraycopy(k, kOff, keyF, off, kvDim);
                System.arraycopy(v, vOff, valF, off, kvDim);
                return;
            }
            if (type == KvCacheType.F16) { // round to nearest even, as llama.cpp's F32 -> F16 copy into its cache
                for (int i = 0; i < kvDim; i++) {
                    keyH[off + i] = Float.floatToFloat16(k[kOff + i]);
                    valH[off + i] = Float.floatToFloat16(v[vOff + i]);
                }
                return;
            }
            int s = (layer * BLOCK_POSITIONS + slot) * nKv;
            for (int h = 0; h < nKv; h++) {
                keyScale[s + h] = quantizeHead(k, kOff + h * headDim, keyQ, off + h * headDim);
                valScale[s + h] = quantizeHead(v, vOff + h * headDim, valQ, off + h * headDim);
            }
        }

        private float quantizeHead(float[] src, int from, byte[] dst, int to) {
            float amax = 0;
            for (int i = 0; i < headDim; i++) amax = Math.max(amax, Math.abs(src[from + i]));
            float inv = amax == 0 ? 0 : 127f / amax;
            for (int i = 0; i < headDim; i++) dst[to + i] = (byte) Math.round(src[from + i] * inv);
            return amax / 127f;
        }

        /**
         * q[qOff..qOff+headDim) . key(layer, slot, kvHead): 8-lane products accumulated per lane, lanes summed in lane
         * order and the tail added last, so the result is the same on every machine. F16: q must already be rounded
         * to F16; the dot is {@link HalfDot}'s (llama.cpp's F16 dot order), {@code scratch} its HalfDot.LANES lanes.
         */
        float keyDot(int layer, int slot, int kvHead, float[] q, int qOff, float[] scratch) {
            int off = (layer * BLOCK_POSITIONS + slot) * kvDim + kvHead * headDim;
            if (type == KvCacheType.F16) return HalfDot.dot(q, qOff, keyH, off, headDim, scratch);
            FloatVector acc = FloatVector.zero(F);
            int i = 0, upper = headDim - L;
            if (type == KvCacheType.F32) {
                for (; i <= upper; i += L) acc = FloatVector.fromArray(F, q, qOff + i).fma(FloatVector.fromArray(F, keyF, off + i), acc);
                float s = sumLanes(acc);
                for (; i < headDim; i++) s += q[qOff + i] * keyF[off + i];
                return s;
            }
            for (; i <= upper; i += L) {
                FloatVector k = (FloatVector) ByteVector.fromArray(B, keyQ, off + i).convertShape(VectorOperators.B2F, F, 0);
                acc = FloatVector.fromArray(F, q, qOff + i).fma(k, acc);
            }
            float s = sumLanes(acc);
            for (; i < headDim; i++) s += q[qOff + i] * keyQ[off + i];
            return s * keyScale[(layer * BLOCK_POSITIONS + slot) * nKv + kvHead];
        }

        /**
         * F16 cache: {@code lanes[i * 32 + lane] = fma(value_i, p, lanes[i * 32 + lane])} for i &lt; headDim, p already
         * rounded to F16 ({@link HalfDot} reduces the lanes).
         */
        void addValueLanes(int layer, int slot, int kvHead, float p, float[] lanes, int lane) {
            int off = (layer * BLOCK_POSITIONS + slot) * kvDim + kvHead * headDim;
            for (int i = 0; i < headDim; i++) lanes[i * HalfDot.LANES + lane] = Math.fma(Float.float16ToFloat(valH[off + i]), p, lanes[i * HalfDot.LANES + lane]);
        }

        /** out[outOff..) += a * value(layer, slot, kvHead) (F32 and INT8 caches). */
        void addValue(int layer, int slot, int kvHead, float a, float[] out, int outOff) {
            int off = (layer * BLOCK_POSITIONS + slot) * kvDim + kvHead * headDim;
            if (type == KvCacheType.F32) {
                for (int i = 0; i < headDim; i++) out[outOff + i] += a * valF[off + i];
                return;
            }
            float as = a * valScale[(layer * BLOCK_POSITIONS + slot) * nKv + kvHead];
            for (int i = 0; i < headDim; i++) out[outOff + i] += as * valQ[off + i];
        }
    }

    private static float sumLanes(FloatVector v) {
        float s = 0f;
        for (int i = 0; i < L; i++) s += v.lane(i);
        return s;
    }
}
