package dev.loracle.runtime.engine;

/**
 * SplitMix64 (Steele, Lea, Flood 2014): a tiny, fully specified generator, so a seed gives the same stream on every JVM
 * and machine (no dependence on java.util.Random's implementation).
 */
public final class SplitMix64 {
    private long state;

    public SplitMix64(long seed) { this.state = seed; }

    public long nextLong() {
        long z = (state += 0x9E3779B97F4A7C15L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Uniform in [0, 1) with 24 random bits. */
    public float nextFloat() { return (nextLong() >>> 40) * 0x1.0p-24f; }

    /** An independent generator (for a sub-stream). */
    public SplitMix64 split() { return new SplitMix64(nextLong()); }
}
