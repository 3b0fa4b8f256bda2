package dev.loracle.runtime.engine;

/** KV cache element type: F32, or INT8 with one scale per (layer, position, KV head). */
public enum KvCacheType {
    F32, INT8;

    public static KvCacheType parse(String s) {
        return switch (s.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "f32", "float" -> F32;
            case "int8", "i8", "q8" -> INT8;
            default -> throw new IllegalArgumentException("unknown KV cache type '" + s + "' (expected f32 or int8)");
        };
    }
}
