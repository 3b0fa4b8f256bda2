package dev.loracle.runtime.engine;

/**
 * A backend's paged KV cache memory: blocks of {@link #BLOCK_POSITIONS} positions x all layers x (keys, values),
 * addressed by block id. The engine's {@link KvBlockPool} decides which ids exist and accounts their bytes in the
 * budget; the storage only backs them ({@link #acquire}) and frees them ({@link #release}). A sequence's block table
 * maps position p to block {@code table[p / BLOCK_POSITIONS]}, slot {@code p % BLOCK_POSITIONS}.
 */
public interface KvBlockStorage extends AutoCloseable {
    int BLOCK_POSITIONS = 16;

    KvCacheType type();

    /** Bytes one block takes (what the pool accounts per block). */
    long blockBytes();

    /** Makes block {@code id} usable (its contents are undefined until written). */
    void acquire(int id);

    /** Frees block {@code id}'s memory; the id may be acquired again later. */
    void release(int id);

    @Override
    void close();
}
