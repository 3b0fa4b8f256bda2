package dev.loracle.runtime.engine;

/**
 * The KV prefix cache now: blocks cached (in use or not), unused cached blocks (reclaimable) and their bytes, blocks
 * served from the cache since the engine opened, blocks evicted to make room.
 */
public record PrefixCacheStats(int cachedBlocks, int reclaimableBlocks, long hitBlocks, long evictions, long reclaimableBytes) {}
