package dev.loracle.runtime.engine;

/**
 * KV cache element type: F32; F16 (IEEE binary16, llama.cpp's default cache type, see /work/coord/f16kv.md for the
 * attention numerics that go with it); or INT8 with one scale per (layer, position, KV head).
 */
public enum KvCacheType {
    // order matters: KV snapshots carry the ordinal
    F32, INT8, F16;

    public static KvCacheType parse(String s) {
        return switch (s.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "f32", "float" -> F32;
            case "f16", "half", "float16" -> F16;
            case "int8", "i8", "q8" -> INT8;
            default -> throw new IllegalArgumentException("unknown KV cache type '" + s + "' (expected f32, f16 or int8)");
        };
    }

    /**
     * Bytes of one block of {@link KvBlockStorage#BLOCK_POSITIONS} positions, keys then values, of every layer: what
     * {@code readBlock}/{@code writeBlock} exchange and memory accounting counts. INT8 adds one F32 scale per
     * (layer, position, KV head) for keys and for values.
     */
    public long blockBytes(int layers, int kvDim, int headDim) {
        long elems = 2L * layers * KvBlockStorage.BLOCK_POSITIONS * kvDim;
        return switch (this) {
            case F32 -> elems * 4;
            case F16 -> elems * 2;
            case INT8 -> elems + 2L * layers * KvBlockStorage.BLOCK_POSITIONS * (kvDim / headDim) * 4;
        };
    }
}
