package dev.loracle.runtime.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Measures sustainable read bandwidth the way a decode step reads weights: the same thread pool streams over an
 * off-heap buffer summing floats with the widest vectors. A buffer larger than the last-level cache gives DRAM
 * bandwidth; a buffer the size of the model tells what the weights can be streamed at when they stay cache-resident.
 */
public final class BandwidthProbe {
    private BandwidthProbe() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    /**
     * Read rate: best-of-reps bytes per wall-clock second, and bytes per CPU-second of this process (all threads):
     * the latter stays meaningful when other processes compete for the cores.
     */
    public record Rate(double wallBytesPerSecond, double cpuBytesPerSecond) {}

    /** CPU time of the whole process (all threads), in ns; -1 where the JVM cannot tell. */
    public static long processCpuNanos() {
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return -1;
    }

    /** Best-of-{@code reps} bytes per second for reading {@code bytes} (rounded to 64 KiB) with {@code pool}. */
    public static double readBytesPerSecond(ParallelRunner pool, long bytes, int reps) {
        return measure(pool, bytes, reps).wallBytesPerSecond();
    }

    public static Rate measure(ParallelRunner pool, long bytes, int reps) {
        long chunk = 1 << 16;
        int chunks = (int) Math.max(1, bytes / chunk);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(chunks * chunk, 4096);
            pool.forRange(chunks, 1, (c0, c1) -> buf.asSlice(c0 * chunk, (c1 - c0) * chunk).fill((byte) 1));
            double[] sink = new double[chunks];
            double best = 0, bestCpu = 0;
            for (int r = 0; r < reps; r++) {
                long t0 = System.nanoTime(), cpu0 = processCpuNanos();
                pool.forRange(chunks, 1, (c0, c1) -> {
                    for (int c = c0; c < c1; c++) sink[c] = sum(buf, c * chunk, chunk);
                });
                long t = System.nanoTime() - t0, cpu = processCpuNanos() - cpu0;
                best = Math.max(best, chunks * (double) chunk / (t / 1e9));
                bestCpu = Math.max(bestCpu, chunks * (double) chunk / (Math.max(cpu, 1) / 1e9));
            }
            double check = 0;
            for (double d : sink) check += d;
            if (check == 42) System.out.print(""); // keep the sums alive
            return new Rate(best, bestCpu);
        }
    }

    private static float sum(MemorySegment m, long off, long len) {
        FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S), a2 = FloatVector.zero(S), a3 = FloatVector.zero(S);
        long step = 4L * S.vectorByteSize();
        for (long p = off, end = off + len; p < end; p += step) {
            a0 = a0.add(FloatVector.fromMemorySegment(S, m, p, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(FloatVector.fromMemorySegment(S, m, p + S.vectorByteSize(), ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(FloatVector.fromMemorySegment(S, m, p + 2L * S.vectorByteSize(), ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(FloatVector.fromMemorySegment(S, m, p + 3L * S.vectorByteSize(), ByteOrder.LITTLE_ENDIAN));
        }
        return a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
    }
}
