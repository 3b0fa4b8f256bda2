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

    /**
     * Block {@code id}'s rows in the cache's own format, the layout KV snapshots carry: F32 = keys then values, each
     * [layer][slot][kvDim] little-endian floats; F16 = the same with little-endian IEEE binary16 elements; INT8 = keys,
     * values (int8, same order), then key scales and value scales ([layer][slot][kvHead] little-endian floats).
     * {@link #blockBytes()} bytes.
     */
    default byte[] readBlock(int id) {
        throw new UnsupportedOperationException("this backend's KV cache cannot export blocks yet");
    }

    /** Overwrites block {@code id} (acquired) with rows in the {@link #readBlock} layout. */
    default void writeBlock(int id, byte[] rows) {
        throw new UnsupportedOperationException("this backend's KV cache cannot import blocks yet");
    }

    @Override
    void close();
}
