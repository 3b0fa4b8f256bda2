package dev.loracle.runtime.cuda;

import dev.loracle.runtime.engine.KvCache;
import dev.loracle.runtime.engine.KvCacheType;
import dev.loracle.runtime.memory.MemoryCategory;

import java.util.ArrayList;
import java.util.List;

/**
 * A KV cache in device memory, one K and one V region per layer, accounted as KV_CACHE on the device budget.
 * INT8 stores kvDim int8 per position plus one float scale per (position, kv head) for K and for V, like the CPU
 * cache (scale = amax / 127, q = round(x * 127 / amax)).
 */
public final class DeviceKvCache implements KvCache {
    private final KvCacheType type;
    private final int positions;
    private final long bytes;
    private final List<DeviceBuffer> k = new ArrayList<>();
    private final List<DeviceBuffer> v = new ArrayList<>();
    private final List<DeviceBuffer> kScale = new ArrayList<>();
    private final List<DeviceBuffer> vScale = new ArrayList<>();

    DeviceKvCache(DeviceMemoryPool pool, KvCacheType type, int nLayers, int positions, int kvDim, int nKvHeads, String owner) {
        this.type = type;
        this.positions = positions;
        this.bytes = bytesFor(type, nLayers, positions, kvDim, nKvHeads);
        try {
            for (int l = 0; l < nLayers; l++) {
                if (type == KvCacheType.F32) {
                    k.add(pool.allocate(MemoryCategory.KV_CACHE, 4L * positions * kvDim, owner));
                    v.add(pool.allocate(MemoryCategory.KV_CACHE, 4L * positions * kvDim, owner));
                } else {
                    k.add(pool.allocate(MemoryCategory.KV_CACHE, (long) positions * kvDim, owner));
                    v.add(pool.allocate(MemoryCategory.KV_CACHE, (long) positions * kvDim, owner));
                    kScale.add(pool.allocate(MemoryCategory.KV_CACHE, 4L * positions * nKvHeads, owner));
                    vScale.add(pool.allocate(MemoryCategory.KV_CACHE, 4L * positions * nKvHeads, owner));
                }
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Bytes a cache of this shape takes (what the constructor reserves; equal to the CPU cache's figure). */
    public static long bytesFor(KvCacheType type, int nLayers, int positions, int kvDim, int nKvHeads) {
        long perLayer = type == KvCacheType.F32 ? 2L * 4 * positions * kvDim
                : 2L * positions * kvDim + 2L * 4 * positions * nKvHeads;
        return perLayer * nLayers;
    }

    @Override public KvCacheType type() { return type; }

    @Override public int positions() { return positions; }

    @Override public long bytes() { return bytes; }

    DevicePtr k(int layer) { return k.get(layer).ptr(); }

    DevicePtr v(int layer) { return v.get(layer).ptr(); }

    DevicePtr kScale(int layer) { return kScale.get(layer).ptr(); }

    DevicePtr vScale(int layer) { return vScale.get(layer).ptr(); }

    @Override
    public void close() {
        for (List<DeviceBuffer> l : List.of(k, v, kScale, vScale)) l.forEach(DeviceBuffer::close);
    }
}
