package dev.loracle.runtime.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.runtime.tensor.GgmlType;
import dev.loracle.runtime.tensor.QuantizedTensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelLoadingTest {

    @Test
    void llama2cCheckpointHeaderAndSharedClassifier() {
        try (Arena arena = Arena.ofShared()) {
            LlamaWeights w = Llama2cCheckpoint.parse(MappedFile.map(TestModels.stories260kBin(), arena));
            ModelConfig c = w.config();
            assertEquals(new ModelConfig(64, 172, 5, 8, 4, 512, 512, 1e-5f, 10000f), c);
            assertTrue(w.sharedClassifier());
            assertSame(w.tokenEmbedding(), w.classifier());
            assertTrue(w.tokenEmbedding().data().isMapped() || w.tokenEmbedding().data().isNative(), "weights stay off-heap");
        }
    }

    @Test
    void ggufF32MatchesTheLlama2cCheckpointTensorForTensor() {
        try (Arena arena = Arena.ofShared()) {
            LlamaWeights bin = Llama2cCheckpoint.parse(MappedFile.map(TestModels.stories260kBin(), arena));
            GgufFile f = GgufFile.parse(MappedFile.map(TestModels.ggufF32(), arena));
            assertEquals(3, f.version());
            LlamaWeights gg = GgufLlamaModel.weights(f);
            assertEquals(128, gg.config().contextLength());
            assertEquals(bin.config().dim(), gg.config().dim());
            assertFalse(gg.sharedClassifier());
            for (var e : gg.tensors().entrySet()) {
                QuantizedTensor b = e.getKey().equals("output.weight") ? bin.classifier() : bin.tensors().get(e.getKey());
                assertEquals(GgmlType.F32, e.getValue().type(), e.getKey());
                assertEquals(-1, e.getValue().bytes().mismatch(b.bytes()), "tensor " + e.getKey() + " differs");
            }
        }
    }

    @Test
    void mixedQ8GgufHasQ8MatricesAndF32FfnDown() {
        try (Arena arena = Arena.ofShared()) {
            LlamaWeights w = GgufLlamaModel.weights(GgufFile.parse(MappedFile.map(TestModels.ggufQ8(), arena)));
            assertEquals(GgmlType.Q8_0, w.layers().get(0).wq().type());
            assertEquals(GgmlType.Q8_0, w.tokenEmbedding().type());
            assertEquals(GgmlType.F32, w.layers().get(0).down().type());
            assertEquals(172, w.layers().get(0).down().cols());
        }
    }

    @Test
    void quantizeOnLoadKeepsOddRowLengthsAsF32() {
        try (Arena arena = Arena.ofShared()) {
            LoadedModel m = ModelLoader.load(TestModels.ggufF32(), null, WeightFormat.Q4_0, arena);
            assertEquals(GgmlType.Q4_0, m.weights().layers().get(2).wk().type());
            assertEquals(GgmlType.F32, m.weights().layers().get(2).down().type());
            assertEquals(GgmlType.F32, m.weights().outputNorm().type());
        }
    }

    @Test
    void llama2cLoaderFindsTokenizerBesideTheModel() {
        try (Arena arena = Arena.ofShared()) {
            LoadedModel m = ModelLoader.load(TestModels.stories260kBin(), null, WeightFormat.AS_FILE, arena);
            assertEquals(512, m.tokenizer().vocabSize());
        }
    }

    @Test
    void truncatedFilesGiveClearErrors(@TempDir Path tmp) throws IOException {
        byte[] gguf = Files.readAllBytes(TestModels.ggufF32());
        Path cut = tmp.resolve("cut.gguf");
        Files.write(cut, java.util.Arrays.copyOf(gguf, 100_000));
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = MappedFile.map(cut, arena);
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> GgufFile.parse(seg));
            assertTrue(e.getMessage().contains("beyond the end of the file"), e.getMessage());
        }
        byte[] bin = Files.readAllBytes(TestModels.stories260kBin());
        Path cutBin = tmp.resolve("cut.bin");
        Files.write(cutBin, java.util.Arrays.copyOf(bin, 5000));
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = MappedFile.map(cutBin, arena);
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> Llama2cCheckpoint.parse(seg));
            assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        }
        Path junk = tmp.resolve("junk.gguf");
        Files.write(junk, new byte[] {'G', 'G', 'U', 'F', 9, 0, 0, 0});
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = MappedFile.map(junk, arena);
            assertTrue(assertThrows(ModelFormatException.class, () -> GgufFile.parse(seg)).getMessage().contains("version 9"));
        }
        assertThrows(ModelFormatException.class, () -> MappedFile.map(tmp.resolve("missing.gguf"), Arena.global()));
    }

    @Test
    void mappingUsesLongOffsetsBeyondTwoGiB(@TempDir Path tmp) throws IOException {
        // A sparse 3 GiB file: a tensor placed past 2^31 must be addressable (no int offsets anywhere).
        Path big = tmp.resolve("big.bin");
        long offset = (3L << 30) - 4096;
        try (var ch = java.nio.channels.FileChannel.open(big, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(new byte[] {0, 0, (byte) 0x80, 0x3f}), offset); // 1.0f
            ch.write(java.nio.ByteBuffer.wrap(new byte[4096 - 4]), offset + 4);
        }
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = MappedFile.map(big, arena);
            assertEquals(3L << 30, seg.byteSize());
            QuantizedTensor t = new QuantizedTensor("far", GgmlType.F32, 1, 1024, seg.asSlice(offset, 4096));
            float[] row = new float[1024];
            t.dequantizeRow(0, row, 0);
            assertEquals(1.0f, row[0]);
            assertArrayEquals(new float[1023], java.util.Arrays.copyOfRange(row, 1, 1024));
        }
    }
}
