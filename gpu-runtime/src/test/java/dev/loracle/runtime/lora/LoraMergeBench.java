package dev.loracle.runtime.lora;

import dev.loracle.runtime.lora.LoraMath.WeightedTarget;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Measures the composite merge of 4 rank-16 adapters on q,k,v,o of every layer of the stories110M shape (48 tensors
 * of 768 x 768, rank-sum 64), the MERGED attach's arithmetic. Not a unit test: run it by hand,
 * {@code java ... dev.loracle.runtime.lora.LoraMergeBench [threads] [rounds]}.
 */
public final class LoraMergeBench {
    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        ModelShape shape = ModelShape.stories110M();
        Set<ProjectionKind> kinds = EnumSet.of(ProjectionKind.Q, ProjectionKind.K, ProjectionKind.V, ProjectionKind.O);
        List<LoraAdapter> adapters = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            adapters.add(PeftAdapter.randomForShape(shape, 16, 32, kinds, 100 + i).toLoraAdapter("bench-" + i));
        }
        Arena arena = Arena.ofShared();
        List<MemorySegment> weights = new ArrayList<>();
        for (int layer = 0; layer < shape.nLayers(); layer++) {
            for (ProjectionKind k : kinds) {
                weights.add(arena.allocate((long) shape.outDim(k) * shape.inDim(k) * Float.BYTES, 64));
            }
        }
        double[] ms = new double[rounds];
        double[] cpuMs = new double[rounds];
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        for (int round = -5; round < rounds; round++) {
            long c0 = mx.getCurrentThreadCpuTime();
            long t0 = System.nanoTime();
            int w = 0;
            for (int layer = 0; layer < shape.nLayers(); layer++) {
                for (ProjectionKind k : kinds) {
                    List<WeightedTarget> deltas = new ArrayList<>();
                    for (LoraAdapter a : adapters) {
                        deltas.add(new WeightedTarget(a.target(layer, k).orElseThrow(), 0.25f));
                    }
                    LoraMath.addComposite(weights.get(w++), shape.outDim(k), shape.inDim(k), deltas, threads);
                }
            }
            if (round >= 0) {
                ms[round] = (System.nanoTime() - t0) / 1e6;
                cpuMs[round] = (mx.getCurrentThreadCpuTime() - c0) / 1e6;
            }
        }
        Arrays.sort(ms);
        Arrays.sort(cpuMs);
        double flops = 2.0 * 48 * 768 * 768 * 64;
        System.out.printf("composite merge, 110M shape, 4 x rank-16 on q,k,v,o x 12 layers (48 tensors), %d threads:"
                + " median %.1f ms, min %.1f ms, max %.1f ms over %d rounds (%.1f GFLOP/s at the median)%n",
                threads, ms[rounds / 2], ms[0], ms[rounds - 1], rounds, flops / (ms[rounds / 2] * 1e6));
    }
}
