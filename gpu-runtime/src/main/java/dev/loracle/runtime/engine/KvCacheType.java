package dev.loracle.runtime.engine;

/** KV cache element type: F32, INT8 with one scale per (layer, position, KV head), or F16 (IEEE binary16). */
public enum KvCacheType {
    F32, INT8, F16;

    public static KvCacheType parse(String s) {
        return switch (s.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "f32", "float" -> F32;
            case "int8", "i8", "q8" -> INT8;
            case "f16", "half", "float16" -> F16;
            default -> throw new IllegalArgumentException("unknown KV cache type '" + s + "' (expected f32, int8 or f16)");
        };
    }
}
