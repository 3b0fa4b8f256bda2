package dev.loracle.runtime.tensor;

/**
 * GGML tensor element types, with the GGUF type ids. F32, F16, Q8_0, Q4_0 and (CPU only, times Q8_K activations)
 * Q4_K, Q5_K, Q6_K have kernels here ({@link #supported}); BF16 can be decoded ({@link #decodable}), so a file using
 * it is converted on load; the other
 * ids are known so that a file using them gets a clear "unsupported" error instead of garbage.
 */
public enum GgmlType {
    F32(0, 1, 4, true, true),
    F16(1, 1, 2, true, true),
    Q4_0(2, 32, 18, true, true),
    Q4_1(3, 32, 20, false, false),
    Q5_0(6, 32, 22, false, false),
    Q5_1(7, 32, 24, false, false),
    Q8_0(8, 32, 34, true, true),
    Q8_1(9, 32, 36, false, false),
    Q2_K(10, 256, 84, false, false),
    Q3_K(11, 256, 110, false, false),
    Q4_K(12, 256, 144, true, true),
    Q5_K(13, 256, 176, true, true),
    Q6_K(14, 256, 210, true, true),
    Q8_K(15, 256, 292, false, false),
    BF16(30, 1, 2, false, true);

    /** Elements per quantization block (llama.cpp QK8_0 = QK4_0 = 32). */
    public static final int QK = 32;

    private final int id;
    private final int blockSize;
    private final int blockBytes;
    private final boolean supported;
    private final boolean decodable;

    GgmlType(int id, int blockSize, int blockBytes, boolean supported, boolean decodable) {
        this.id = id;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
        this.supported = supported;
        this.decodable = decodable;
    }

    public int id() { return id; }
    public int blockSize() { return blockSize; }
    public int blockBytes() { return blockBytes; }
    /** Has matmul kernels (the engine runs it as stored). */
    public boolean supported() { return supported; }
    /** Can be decoded to F32 ({@link Quantization#dequantize}), so it can be loaded and converted. */
    public boolean decodable() { return decodable; }
    public boolean quantized() { return blockSize > 1; }
    /** Q4_K, Q5_K or Q6_K: 256-value super-blocks, multiplied with Q8_K activations ({@link Q8KActivation}). */
    public boolean kQuant() { return this == Q4_K || this == Q5_K || this == Q6_K; }

    /** Bytes of {@code elements} values of this type; the count must be a whole number of blocks. */
    public long bytesFor(long elements) {
        if (elements % blockSize != 0) {
            throw new IllegalArgumentException(this + " needs a multiple of " + blockSize + " elements, got " + elements);
        }
        return elements / blockSize * blockBytes;
    }

    public static GgmlType fromId(int id) {
        for (GgmlType t : values()) {
            if (t.id == id) return t;
        }
        throw new IllegalArgumentException("unknown GGML tensor type id " + id);
    }

    /** Parses CLI/config spellings: f32, f16, q8_0, q4_0 (case-insensitive). */
    public static GgmlType parse(String s) {
        String n = s.trim().toUpperCase(java.util.Locale.ROOT).replace('-', '_');
        if (n.equals("Q8")) n = "Q8_0";
        if (n.equals("Q4")) n = "Q4_0";
        GgmlType t;
        try {
            t = valueOf(n);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown tensor type '" + s + "' (expected f32, f16, q8_0 or q4_0)");
        }
        if (!t.supported || t.kQuant()) throw new IllegalArgumentException("tensor type " + t + " is not supported (f32, f16, q8_0, q4_0)");
        return t;
    }
}
