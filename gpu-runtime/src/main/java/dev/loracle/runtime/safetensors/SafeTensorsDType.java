package dev.loracle.runtime.safetensors;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Locale;
import java.util.Set;

/** The element types this runtime reads from safetensors files. */
public enum SafeTensorsDType {
    F32(4), F16(2), BF16(2);

    /** Types of the safetensors format that exist but that we do not read (for a precise error message). */
    private static final Set<String> KNOWN_UNSUPPORTED = Set.of(
            "F64", "I64", "U64", "I32", "U32", "I16", "U16", "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2", "F8_E8M0",
            "F6_E2M3", "F6_E3M2", "F4", "C64");

    private static final ValueLayout.OfFloat LE_F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort LE_I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final int byteSize;

    SafeTensorsDType(int byteSize) {
        this.byteSize = byteSize;
    }

    public int byteSize() {
        return byteSize;
    }

    /** Parses a header dtype; {@code tensor} only names the tensor in the error. */
    static SafeTensorsDType fromHeader(String name, String tensor) {
        for (SafeTensorsDType t : values()) {
            if (t.name().equals(name)) {
                return t;
            }
        }
        if (KNOWN_UNSUPPORTED.contains(name.toUpperCase(Locale.ROOT))) {
            throw new SafeTensorsFormatException("tensor '" + tensor + "' has dtype " + name
                    + ", which is not supported (supported: F32, F16, BF16)");
        }
        throw new SafeTensorsFormatException("tensor '" + tensor + "' has unknown dtype '" + name + "'");
    }

    /** Reads element {@code index} of a little-endian tensor of this type as a float. */
    public float read(MemorySegment data, long index) {
        return switch (this) {
            case F32 -> data.getAtIndex(LE_F32, index);
            case F16 -> Float.float16ToFloat(data.getAtIndex(LE_I16, index));
            case BF16 -> Float.intBitsToFloat((data.getAtIndex(LE_I16, index) & 0xFFFF) << 16);
        };
    }

    /** Writes {@code v} (rounded to nearest even for F16 and BF16) as element {@code index}. */
    public void write(MemorySegment data, long index, float v) {
        switch (this) {
            case F32 -> data.setAtIndex(LE_F32, index, v);
            case F16 -> data.setAtIndex(LE_I16, index, Float.floatToFloat16(v));
            case BF16 -> data.setAtIndex(LE_I16, index, floatToBf16(v));
        }
    }

    /** Rounds {@code v} to this type and back (the value a write then read yields). */
    public float round(float v) {
        return switch (this) {
            case F32 -> v;
            case F16 -> Float.float16ToFloat(Float.floatToFloat16(v));
            case BF16 -> Float.intBitsToFloat((floatToBf16(v) & 0xFFFF) << 16);
        };
    }

    private static short floatToBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) {
            return (short) ((bits >>> 16) | 0x40); // keep it a quiet NaN
        }
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }
}
