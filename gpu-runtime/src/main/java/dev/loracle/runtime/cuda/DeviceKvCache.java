package dev.loracle.runtime.cuda;

import dev.loracle.runtime.engine.KvCache;
import dev.loracle.runtime.engine.KvCacheType;
import dev.loracle.runtime.memory.MemoryCategory;
import dev.loracle.runtime.model.ModelConfig;

/**
 * A KV cache of one sequence in device memory, as paged blocks of 16 positions x all layers (the layout the step
 * kernels read, see attention.cu), allocated as one KV_CACHE buffer; the block table is the blocks' addresses.
 */
public final class DeviceKvCache implements KvCache {
    private final KvCacheType type;
    private final int positions;
    private final long bytes;
    private final DeviceBuffer buffer;
    private final long[] blockAddresses;

    DeviceKvCache(DeviceMemoryPool pool, KvCacheType type, ModelConfig c, int positions, String owner) {
        this.type = type;
        this.positions = positions;
        int blocks = (positions + 15) / 16;
        long blockBytes = StepExecutor.blockBytes(type, c);
        this.bytes = blocks * blockBytes;
        this.buffer = pool.allocate(MemoryCategory.KV_CACHE, bytes, owner);
        this.blockAddresses = new long[blocks];
        for (int b = 0; b < blocks; b++) blockAddresses[b] = buffer.ptr().offset(b * blockBytes).address();
    }

    /** Bytes a cache of this shape takes (whole blocks of 16 positions). */
    public static long bytesFor(KvCacheType type, ModelConfig c, int positions) {
        return ((positions + 15) / 16) * StepExecutor.blockBytes(type, c);
    }

    @Override public KvCacheType type() { return type; }

    @Override public int positions() { return positions; }

    @Override public long bytes() { return bytes; }

    long[] blockAddresses() { return blockAddresses; }

    @Override
    public void close() { buffer.close(); }
}
