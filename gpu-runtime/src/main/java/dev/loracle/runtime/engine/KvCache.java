package dev.loracle.runtime.engine;

/**
 * Keys and values of one generation in a contiguous cache: the CUDA backend's single-sequence path, kept until it
 * executes {@link StepBatch}es over {@link KvBlockStorage} (then this goes).
 */
public interface KvCache extends AutoCloseable {
    int positions();
    KvCacheType type();
    long bytes();
    @Override
    void close();
}
