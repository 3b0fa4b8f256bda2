package dev.loracle.runtime.engine;

import dev.loracle.runtime.engine.plan.Op;
import dev.loracle.runtime.tensor.GgmlExp;
import dev.loracle.runtime.tensor.ParallelRunner;

/**
 * Paged causal attention on the CPU: for row t at position p of sequence s and query head h, scores over positions
 * 0..p of s (keys from its blocks, KV head h / kvMul), softmax with StrictMath.exp, weighted sum of values. Work is
 * split over (row, head) pairs; each pair is computed the same way whatever else is in the step.
 * <p>
 * With an F16 cache the numerics follow llama.cpp's F16 KV path: q is rounded to F16 before the q.k dots (products of
 * two halves, accumulated in F32, then scaled by 1/sqrt(headDim) in F32), the softmax runs in F32 and its
 * probabilities are rounded to F16 before weighting the values (accumulated in F32); sums and exp in the order and
 * rounding of llama.cpp's AVX2 build ({@link HalfDot}, {@link GgmlExp}).
 */
final class CpuAttention {
    private final ParallelRunner pool;
    private float[] scores = new float[0];

    CpuAttention(ParallelRunner pool) {
        this.pool = pool;
    }

    void run(Op.Attention a, StepBatch batch, CpuKvBlocks kv, float[] q, int qWidth, float[] out) {
        int n = batch.size(), heads = a.heads(), hd = a.headDim(), kvMul = heads / a.kvHeads();
        int longest = 0;
        for (int p : batch.positions()) longest = Math.max(longest, p + 1);
        int stride = longest;
        if (scores.length < n * heads * stride) scores = new float[n * heads * stride];
        float[] att = scores;
        // blocks of each row's sequence, resolved once
        CpuKvBlocks.Block[][] tables = new CpuKvBlocks.Block[batch.blockTables().length][];
        for (int s = 0; s < tables.length; s++) {
            int[] ids = batch.blockTables()[s];
            tables[s] = new CpuKvBlocks.Block[ids.length];
        }
        for (int t = 0; t < n; t++) {
            int s = batch.sequence()[t];
            int used = batch.positions()[t] / KvBlockStorage.BLOCK_POSITIONS + 1;
            for (int b = 0; b < used; b++) if (tables[s][b] == null) tables[s][b] = kv.block(batch.blockTables()[s][b]);
        }
        float invSqrt = 1.0f / (float) Math.sqrt(hd);
        boolean half = kv.type() == KvCacheType.F16;
        int layer = a.layer();
        int grain = Math.max(1, (1 << 14) / (stride * hd * 2));
        pool.forRange(n * heads, grain, (from, to) -> {
            float[] lanes = half ? new float[HalfDot.LANES] : null; // F16 dot scratch, one per chunk of jobs
            for (int job = from; job < to; job++) {
                int t = job / heads, h = job % heads;
                int span = batch.positions()[t] + 1;
                CpuKvBlocks.Block[] blocks = tables[batch.sequence()[t]];
                int qOff = t * qWidth + h * hd;
                if (half) { // this (row, head)'s q only: each job owns its slice
                    for (int i = 0; i < hd; i++) q[qOff + i] = Float.float16ToFloat(Float.floatToFloat16(q[qOff + i]));
                }
                int kvh = h / kvMul;
                int base = job * stride;
                float max = Float.NEGATIVE_INFINITY;
                for (int p = 0; p < span; p++) {
                    float sc = blocks[p / KvBlockStorage.BLOCK_POSITIONS].keyDot(layer, p % KvBlockStorage.BLOCK_POSITIONS, kvh, q, qOff, lanes) * invSqrt;
                    att[base + p] = sc;
                    if (sc > max) max = sc;
                }
                if (half) {
                    halfSoftmaxAndValues(att, base, span, max, blocks, layer, kvh, hd, out, qOff);
                    continue;
                }
                float sum = 0f;
                for (int p = 0; p < span; p++) {
                    float e = (float) StrictMath.exp(att[base + p] - max);
                    att[base + p] = e;
                    sum += e;
                }
                for (int i = 0; i < hd; i++) out[qOff + i] = 0f;
                for (int p = 0; p < span; p++) {
                    blocks[p / KvBlockStorage.BLOCK_POSITIONS].addValue(layer, p % KvBlockStorage.BLOCK_POSITIONS, kvh, att[base + p] / sum, out, qOff);
                }
            }
        });
    }

    /**
     * The F16 path after the scores: llama.cpp's soft_max (its vectorized expf, each 8 positions summed in a fixed tree
     * and accumulated in double, then one multiply by the float reciprocal), weights rounded to F16, values weighted in
     * {@link HalfDot}'s lanes (lane = position % 32, as in its transposed-V dot over the padded cache).
     */
    private static void halfSoftmaxAndValues(float[] att, int base, int span, float max, CpuKvBlocks.Block[] blocks, int layer,
                                             int kvh, int hd, float[] out, int qOff) {
        double sum = 0;
        float[] e = new float[8];
        for (int b0 = 0; b0 < span; b0 += 8) {
            for (int l = 0; l < 8; l++) {
                int p = b0 + l;
                e[l] = p < span ? GgmlExp.expf(att[base + p] - max) : 0f;
                if (p < span) att[base + p] = e[l];
            }
            sum += ((e[0] + e[4]) + (e[2] + e[6])) + ((e[1] + e[5]) + (e[3] + e[7]));
        }
        float scale = (float) (1.0 / sum);
        float[] lanes = new float[hd * HalfDot.LANES];
        for (int p = 0; p < span; p++) {
            float prob = Float.float16ToFloat(Float.floatToFloat16(att[base + p] * scale));
            blocks[p / KvBlockStorage.BLOCK_POSITIONS].addValueLanes(layer, p % KvBlockStorage.BLOCK_POSITIONS, kvh, prob, lanes, p % HalfDot.LANES);
        }
        for (int i = 0; i < hd; i++) out[qOff + i] = HalfDot.reduce(lanes, i * HalfDot.LANES);
    }
}
