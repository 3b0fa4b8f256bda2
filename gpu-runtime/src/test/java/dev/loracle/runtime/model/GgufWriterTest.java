package dev.loracle.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.runtime.cli.LoracleRuntimeCli;
import dev.loracle.runtime.tensor.ParallelRunner;
import dev.loracle.runtime.tensor.QuantizedTensor;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** export-gguf writes a file the GGUF loader reads back to the same config, vocabulary and tensor bytes. */
class GgufWriterTest {

    @ParameterizedTest
    @CsvSource({"q8_0", "q4_0", "f32"})
    void exportedRandomModelLoadsBackBitForBit(String format, @TempDir Path dir) {
        Path file = dir.resolve("random-" + format + ".gguf");
        int rc = LoracleRuntimeCli.commandLine().execute("export-gguf", "--random-shape", "64,172,2,8,4,512,256", "--format", format,
                "--seed", "5", file.toString());
        assertEquals(0, rc);
        assertFalse(Files.exists(dir.resolve(file.getFileName() + ".part")), "temporary file left behind");
        ModelConfig shape = RandomModel.parseShape("64,172,2,8,4,512,256");
        WeightFormat f = WeightFormat.parse(format);
        try (Arena arena = Arena.ofShared(); ParallelRunner pool = new ParallelRunner(1)) {
            LoadedModel expected = RandomModel.create(shape, f, 5, arena, pool);
            LoadedModel loaded = ModelLoader.load(file, null, WeightFormat.AS_FILE, arena);
            ModelConfig c = loaded.weights().config();
            assertEquals(shape.dim(), c.dim());
            assertEquals(shape.hiddenDim(), c.hiddenDim());
            assertEquals(shape.nLayers(), c.nLayers());
            assertEquals(shape.nHeads(), c.nHeads());
            assertEquals(shape.nKvHeads(), c.nKvHeads());
            assertEquals(shape.vocabSize(), c.vocabSize());
            assertEquals(shape.contextLength(), c.contextLength());
            assertEquals(expected.tokenizer().token(300), loaded.tokenizer().token(300));
            Map<String, QuantizedTensor> want = expected.weights().tensors(), got = loaded.weights().tensors();
            assertEquals(want.keySet(), got.keySet());
            want.forEach((name, t) -> {
                QuantizedTensor g = got.get(name);
                assertEquals(t.type(), g.type(), name);
                assertEquals(t.rows(), g.rows(), name);
                assertEquals(t.cols(), g.cols(), name);
                assertEquals(-1L, t.bytes().mismatch(g.bytes()), name + " bytes differ");
            });
        }
    }

    @org.junit.jupiter.api.Test
    void unsupportedMetadataIsRejected() {
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> new GgufWriter().put("k", new double[1]));
        assertTrue(e.getMessage().contains("k"), e.getMessage());
    }
}
