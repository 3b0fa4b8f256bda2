package dev.loracle.runtime.model;

import dev.loracle.runtime.tensor.GgmlType;
import java.util.Locale;

/** How the engine holds the base matrices: as stored in the file, or converted on load. */
public enum WeightFormat {
    AS_FILE(null), F32(GgmlType.F32), Q8_0(GgmlType.Q8_0), Q4_0(GgmlType.Q4_0), Q4_K(GgmlType.Q4_K);

    private final GgmlType type;

    WeightFormat(GgmlType type) { this.type = type; }

    /** Target type, or null for AS_FILE. */
    public GgmlType type() { return type; }

    public static WeightFormat parse(String s) {
        String n = s.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        return switch (n) {
            case "AS_FILE", "FILE", "NONE", "AUTO" -> AS_FILE;
            case "F32" -> F32;
            case "Q8_0", "Q8" -> Q8_0;
            case "Q4_0", "Q4" -> Q4_0;
            case "Q4_K" -> Q4_K;
            default -> throw new IllegalArgumentException("unknown quantization '" + s + "' (expected f32, q8_0, q4_0, q4_k or as_file)");
        };
    }
}
