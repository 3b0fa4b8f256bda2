package dev.loracle.runtime.engine;

/** Keys and values of one generation, owned by the backend that allocated it; close() frees it and its reservation. */
public interface KvCache extends AutoCloseable {
    int positions();
    KvCacheType type();
    long bytes();
    @Override
    void close();
}
