package dev.loracle.runtime.cuda;

import dev.loracle.runtime.engine.KvBlockStorage;
import dev.loracle.runtime.engine.KvCacheType;
import dev.loracle.runtime.model.ModelConfig;

import java.lang.foreign.MemorySegment;

/**
 * Where one KV block's parts live in device memory (see kv_cache.cuh) versus the host block format that
 * {@link KvBlockStorage#readBlock} exchanges and KV snapshots carry (the CPU cache's layout). A device block is
 * layer-major: layer l holds, in order, its keys [16][kvDim], its values [16][kvDim] and (INT8) its key and value scales
 * [16][nKv]. The host format is part-major: every layer's keys, then every layer's values, then (INT8) every layer's
 * key scales and value scales. So element (layer, slot, kvHead, i) of a part is at
 * ((layer * 16 + slot) * kvDim + kvHead * headDim + i) within that part in both, and a conversion is
 * {@code layers x parts} bulk copies.
 */
record DeviceKvLayout(KvCacheType type, int layers, long[] partBytes) {
    private static final int B = KvBlockStorage.BLOCK_POSITIONS;

    static DeviceKvLayout of(KvCacheType type, ModelConfig c) {
        long rows = (long) B * c.kvDim(), scales = (long) B * c.nKvHeads() * 4;
        long[] parts = switch (type) {
            case F32 -> new long[] {4 * rows, 4 * rows};
            case F16 -> new long[] {2 * rows, 2 * rows};
            case INT8 -> new long[] {rows, rows, scales, scales};
        };
        return new DeviceKvLayout(type, c.nLayers(), parts);
    }

    /** Bytes of one layer inside a block (the kernels' layer stride). */
    long layerBytes() {
        long n = 0;
        for (long p : partBytes) n += p;
        return n;
    }

    /** Bytes of one block, in either layout. */
    long blockBytes() { return layerBytes() * layers; }

    /** Copies a block from the device layout {@code device} to the host format {@code host}. */
    void toHost(MemorySegment device, MemorySegment host) { convert(device, host, true); }

    /** Copies a block from the host format {@code host} to the device layout {@code device}. */
    void toDevice(MemorySegment host, MemorySegment device) { convert(host, device, false); }

    private void convert(MemorySegment from, MemorySegment to, boolean fromDevice) {
        long block = blockBytes();
        if (from.byteSize() != block || to.byteSize() != block) {
            throw new IllegalArgumentException("a " + type + " KV block has " + block + " bytes, got " + from.byteSize() + " -> " + to.byteSize());
        }
        long partStart = 0, inLayer = 0;
        for (long part : partBytes) {
            for (int l = 0; l < layers; l++) {
                long dev = l * layerBytes() + inLayer, host = partStart + l * part;
                MemorySegment.copy(from, fromDevice ? dev : host, to, fromDevice ? host : dev, part);
            }
            partStart += layers * part;
            inLayer += part;
        }
    }
}
