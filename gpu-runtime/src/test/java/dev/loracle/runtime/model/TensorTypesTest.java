package dev.loracle.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.runtime.tensor.GgmlType;
import dev.loracle.runtime.tensor.Quantization;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tensor types without kernels load converted (BF16 here); types that cannot be decoded are refused by name. */
class TensorTypesTest {

    /** A copy of {@code src} whose tensor {@code name} is declared as {@code type} (its data bytes are reinterpreted). */
    static Path withTensorType(Path src, String name, GgmlType type, Path dst) throws IOException {
        byte[] b = Files.readAllBytes(src);
        byte[] key = name.getBytes(StandardCharsets.UTF_8);
        int at = -1;
        for (int i = 0; i + key.length + 8 < b.length && at < 0; i++) {
            // tensor infos: u64 name length, name, u32 n_dims, u64 dims..., u32 type, u64 offset
            if (ByteBuffer.wrap(b, i, 8).order(ByteOrder.LITTLE_ENDIAN).getLong() == key.length
                    && java.util.Arrays.equals(b, i + 8, i + 8 + key.length, key, 0, key.length)) at = i + 8 + key.length;
        }
        if (at < 0) throw new IllegalStateException(name + " not in " + src);
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        int nDims = bb.getInt(at);
        bb.putInt(at + 4 + 8 * nDims, type.id());
        return Files.write(dst, b);
    }

    @Test
    void bf16MatricesAreRequantizedToQ8_0(@TempDir Path tmp) throws IOException {
        Path f = withTensorType(TestModels.ggufF32(), "blk.0.attn_q.weight", GgmlType.BF16, tmp.resolve("bf16.gguf"));
        try (Arena arena = Arena.ofShared()) { // write the F32 values' BF16 (upper halves) where the data now is read
            MemorySegment file = MappedFile.map(TestModels.ggufF32(), arena);
            var f32 = GgufFile.parse(file).tensor("blk.0.attn_q.weight");
            long off = f32.data().address() - file.address();
            byte[] b = Files.readAllBytes(f);
            ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
            for (long i = 0; i < f32.elements(); i++) {
                bb.putShort((int) (off + 2 * i), (short) (Float.floatToRawIntBits(f32.data().getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, i)) >>> 16));
            }
            Files.write(f, b);
        }
        try (Arena arena = Arena.ofShared()) {
            GgufFile gguf = GgufFile.parse(MappedFile.map(f, arena));
            var raw = gguf.tensor("blk.0.attn_q.weight");
            assertEquals(GgmlType.BF16, raw.type());
            LoadedModel m = ModelLoader.load(f, null, WeightFormat.AS_FILE, arena);
            var wq = m.weights().layers().getFirst().wq();
            assertEquals(GgmlType.Q8_0, wq.type());
            float[] want = new float[64], got = new float[64];
            Quantization.dequantize(GgmlType.BF16, raw.data(), 0, want, 0, 64);
            wq.dequantizeRow(0, got, 0);
            float amax = 0;
            for (float v : want) amax = Math.max(amax, Math.abs(v));
            for (int i = 0; i < 64; i++) assertEquals(want[i], got[i], amax / 127 * 0.51f + 1e-6f, "element " + i);
        }
    }

    @Test
    void undecodableTypeIsRefusedNamingTensorAndType(@TempDir Path tmp) throws IOException {
        Path f = withTensorType(ArchGolden.model("kq-Q4_K_M"), "output.weight", GgmlType.Q2_K, tmp.resolve("q2k.gguf"));
        try (Arena arena = Arena.ofShared()) {
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelLoader.load(f, null, WeightFormat.AS_FILE, arena));
            assertTrue(e.getMessage().contains("output.weight") && e.getMessage().contains("Q2_K"), e.getMessage());
        }
    }

    @Test
    void kQuantsStayAsStoredUnlessAFormatIsAsked() {
        try (Arena arena = Arena.ofShared()) {
            GgufFile gguf = GgufFile.parse(MappedFile.map(ArchGolden.model("kq-Q5_K_M"), arena));
            assertEquals(GgmlType.Q5_K, gguf.tensor("blk.0.attn_q.weight").type());
            assertEquals(GgmlType.Q6_K, gguf.tensor("output.weight").type());
            assertEquals(GgmlType.Q5_K, WeightConverter.targetType(GgmlType.Q5_K, 256, WeightFormat.AS_FILE));
            assertEquals(GgmlType.Q8_0, WeightConverter.targetType(GgmlType.Q5_K, 256, WeightFormat.Q8_0));
            // the CUDA backend's view: every K-quant matrix requantized to Q8_0, the rest untouched
            LlamaWeights w = GgufLlamaModel.weights(gguf);
            LlamaWeights cuda = WeightConverter.requantizeKQuants(w, arena);
            assertEquals(GgmlType.Q8_0, cuda.layers().getFirst().wq().type());
            assertEquals(GgmlType.Q8_0, cuda.classifier().type());
            assertEquals(w.layers().getFirst().attnNorm(), cuda.layers().getFirst().attnNorm());
            assertSame(cuda, WeightConverter.requantizeKQuants(cuda, arena));
            assertEquals(GgmlType.Q4_0, WeightConverter.targetType(GgmlType.Q5_K, 256, WeightFormat.Q4_0));
        }
    }
}
