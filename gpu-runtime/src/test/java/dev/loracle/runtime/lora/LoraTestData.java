package dev.loracle.runtime.lora;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

/** Random LoRA targets for tests. */
final class LoraTestData {
    private LoraTestData() {}

    static MemorySegment randomSegment(Random r, long floats, float amplitude) {
        MemorySegment s = Arena.ofAuto().allocate(floats * Float.BYTES, 64);
        for (long i = 0; i < floats; i++) {
            s.setAtIndex(LoraTarget.F32, i, (r.nextFloat() * 2 - 1) * amplitude);
        }
        return s;
    }

    static LoraTarget target(Random r, int layer, ProjectionKind kind, int rank, int in, int out, float scale) {
        return new LoraTarget(layer, kind, rank, in, out, scale, randomSegment(r, (long) rank * in, 1f),
                randomSegment(r, (long) out * rank, 1f));
    }

    /** delta[o][i] = sum over targets of weight * scale * sum_k B[o][k] A[k][i], in double. */
    static double[] referenceDelta(int out, int in, java.util.List<LoraMath.WeightedTarget> deltas) {
        double[] d = new double[out * in];
        for (LoraMath.WeightedTarget wt : deltas) {
            LoraTarget t = wt.target();
            double c = (double) wt.weight() * t.scale();
            for (int o = 0; o < out; o++) {
                for (int k = 0; k < t.rank(); k++) {
                    double b = c * t.bAt(o, k);
                    for (int i = 0; i < in; i++) {
                        d[o * in + i] += b * t.aAt(k, i);
                    }
                }
            }
        }
        return d;
    }
}
