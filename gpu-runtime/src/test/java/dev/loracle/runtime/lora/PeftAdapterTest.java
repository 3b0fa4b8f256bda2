package dev.loracle.runtime.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.runtime.safetensors.SafeTensorsDType;
import dev.loracle.runtime.safetensors.SafeTensorsWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

class PeftAdapterTest {
    /** Small GQA shape: head dim 4, kv dim 8. */
    static final ModelShape TINY = new ModelShape(ModelShape.LLAMA, 16, 24, 3, 4, 2, 100);
    static final Set<ProjectionKind> ALL = EnumSet.allOf(ProjectionKind.class);

    @TempDir
    Path tmp;

    private static float[] floats(LoraTarget t, boolean a) {
        return (a ? t.a() : t.b()).toArray(LoraTarget.F32);
    }

    @Test
    void randomAdapterWritesAndLoadsBackBitForBitInF32() {
        PeftAdapter peft = PeftAdapter.randomForShape(TINY, 4, 8, ALL, 42);
        Path dir = tmp.resolve("rand");
        peft.write(dir);
        assertTrue(Files.isRegularFile(dir.resolve("adapter_config.json")));
        LoraAdapter a = PeftAdapter.load(dir, LoadOptions.defaults());
        assertEquals("rand", a.id());
        assertEquals(ModelShape.LLAMA, a.architecture());
        assertEquals(3 * 7, a.targets().size());
        assertEquals(4, a.rankMax());
        a.validateAgainst(TINY);
        long bytes = 0;
        for (int layer = 0; layer < 3; layer++) {
            for (ProjectionKind k : ALL) {
                LoraTarget t = a.target(layer, k).orElseThrow();
                String key = "base_model.model." + k.peftModulePath(layer);
                assertArrayEquals(peft.tensor(key + ".lora_A.weight"), floats(t, true), t.describe());
                assertArrayEquals(peft.tensor(key + ".lora_B.weight"), floats(t, false), t.describe());
                assertEquals(TINY.inDim(k), t.in());
                assertEquals(TINY.outDim(k), t.out());
                assertEquals(2f, t.scale());
                bytes += (long) 4 * (t.in() + t.out()) * 4;
            }
        }
        assertEquals(bytes, a.bytes());
        // same result without the file round trip, and the same seed gives the same adapter
        LoraAdapter direct = PeftAdapter.randomForShape(TINY, 4, 8, ALL, 42).toLoraAdapter("x");
        assertArrayEquals(floats(a.targets().get(5), false), floats(direct.targets().get(5), false));
        LoraAdapter other = PeftAdapter.randomForShape(TINY, 4, 8, ALL, 43).toLoraAdapter("y");
        assertNotEquals(floats(a.targets().get(5), false)[0], floats(other.targets().get(5), false)[0]);
    }

    @Test
    void f16AndBf16AdaptersLoadAsTheRoundedValues() {
        PeftAdapter peft = PeftAdapter.randomForShape(TINY, 2, 4, EnumSet.of(ProjectionKind.V, ProjectionKind.DOWN), 1);
        for (SafeTensorsDType dtype : List.of(SafeTensorsDType.F16, SafeTensorsDType.BF16)) {
            Path dir = tmp.resolve(dtype.name());
            peft.write(dir, dtype);
            LoraAdapter a = PeftAdapter.load(dir, LoadOptions.defaults().withId("half"));
            assertEquals("half", a.id());
            LoraTarget t = a.target(2, ProjectionKind.DOWN).orElseThrow();
            float[] original = peft.tensor("base_model.model.model.layers.2.mlp.down_proj.lora_A.weight");
            float[] got = floats(t, true);
            boolean rounded = false;
            for (int i = 0; i < original.length; i++) {
                assertEquals(dtype.round(original[i]), got[i], "element " + i);
                rounded |= got[i] != original[i];
            }
            assertTrue(rounded, dtype + " storage should round some values");
        }
    }

    @Test
    void qkPermutationMovesHuggingFaceRotaryHalvesToInterleavedRows() {
        PeftAdapter peft = PeftAdapter.randomForShape(TINY, 3, 3, ALL, 5);
        Path dir = tmp.resolve("hf");
        peft.write(dir);
        LoraAdapter plain = PeftAdapter.load(dir, LoadOptions.defaults());
        LoraAdapter permuted = PeftAdapter.load(dir, LoadOptions.permuteQkForGguf(TINY.nHeads(), TINY.nKvHeads()));
        int hd = TINY.headDim();
        for (ProjectionKind k : List.of(ProjectionKind.Q, ProjectionKind.K)) {
            LoraTarget p = plain.target(1, k).orElseThrow();
            LoraTarget g = permuted.target(1, k).orElseThrow();
            int heads = k == ProjectionKind.Q ? TINY.nHeads() : TINY.nKvHeads();
            assertEquals(heads * hd, p.out());
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < hd / 2; i++) {
                    // HF rotates the pair (i, i + hd/2) of a head; GGUF rotates the adjacent pair (2i, 2i + 1)
                    for (int c = 0; c < 3; c++) {
                        assertEquals(p.bAt(h * hd + i, c), g.bAt(h * hd + 2 * i, c));
                        assertEquals(p.bAt(h * hd + i + hd / 2, c), g.bAt(h * hd + 2 * i + 1, c));
                    }
                }
            }
            assertArrayEquals(floats(p, true), floats(g, true), "A is not permuted");
        }
        for (ProjectionKind k : List.of(ProjectionKind.V, ProjectionKind.O, ProjectionKind.UP)) {
            assertArrayEquals(floats(plain.target(0, k).orElseThrow(), false),
                    floats(permuted.target(0, k).orElseThrow(), false), k + " is not permuted");
        }
        AdapterValidationException e = assertThrows(AdapterValidationException.class,
                () -> PeftAdapter.load(dir, LoadOptions.permuteQkForGguf(3, 3)));
        assertTrue(e.getMessage().contains("cannot apply the Q/K permutation"), e.getMessage());
    }

    // ------------------------------------------------------------------ config features

    private Path adapterWithConfig(String name, Map<String, Object> changes) throws IOException {
        Path dir = tmp.resolve(name);
        PeftAdapter.randomForShape(TINY, 4, 8, EnumSet.of(ProjectionKind.Q, ProjectionKind.UP), 9).write(dir);
        rewriteConfig(dir, changes);
        return dir;
    }

    private static void rewriteConfig(Path dir, Map<String, Object> changes) throws IOException {
        Path cfg = dir.resolve("adapter_config.json");
        JsonMapper json = JsonMapper.shared();
        Map<String, Object> m = json.readValue(cfg.toFile(), new TypeReference<LinkedHashMap<String, Object>>() {});
        m.putAll(changes);
        json.writeValue(cfg.toFile(), m);
    }

    private void assertRejectedConfig(String name, Map<String, Object> changes, String fragment) throws IOException {
        Path dir = adapterWithConfig(name, changes);
        AdapterValidationException e = assertThrows(AdapterValidationException.class,
                () -> PeftAdapter.load(dir, LoadOptions.defaults()));
        assertTrue(e.getMessage().contains(fragment), "expected '" + fragment + "' in: " + e.getMessage());
    }

    @Test
    void unsupportedFeaturesAreRejectedWithClearErrors() throws IOException {
        assertRejectedConfig("dora", Map.of("use_dora", true), "DoRA adapters (use_dora: true) are not supported");
        assertRejectedConfig("bias", Map.of("bias", "lora_only"), "bias \"lora_only\" is not supported");
        assertRejectedConfig("lorabias", Map.of("lora_bias", true), "lora_bias is not supported");
        assertRejectedConfig("mts", Map.of("modules_to_save", List.of("lm_head")), "modules_to_save is not supported");
        assertRejectedConfig("type", Map.of("peft_type", "IA3"), "peft_type IA3 is not supported");
        assertRejectedConfig("tti", Map.of("trainable_token_indices", List.of(1L, 2L)),
                "trainable_token_indices is not supported");
        assertRejectedConfig("r0", Map.of("r", 0L), "r must be positive");
        assertRejectedConfig("rstr", Map.of("r", "8"), "r must be an integer");
        assertRejectedConfig("noTargets", Map.of("target_modules", List.of()), "target_modules must be");
        assertRejectedConfig("badRegex", Map.of("target_modules", "(q_proj"), "not a valid regex");
        assertRejectedConfig("rank", Map.of("r", 8L), "has rank 4 in the weights but rank 8 in adapter_config.json");
        assertRejectedConfig("untargeted", Map.of("target_modules", List.of("q_proj")),
                "model.layers.0.mlp.up_proj has weights but is not selected by target_modules");
        assertRejectedConfig("layers", Map.of("layers_to_transform", List.of(0L, 1L)),
                "model.layers.2.mlp.up_proj has weights but is not selected");
        assertRejectedConfig("embed", Map.of("target_modules", List.of("q_proj", "up_proj", "embed_tokens")),
                "target_modules contains embed_tokens: LoRA on embeddings or the classifier is not supported");
    }

    @Test
    void configFeaturesAreHonoured() throws IOException {
        // rank_pattern / alpha_pattern select per module (PEFT's "(.*\.)?key$" match), rsLoRA uses alpha/sqrt(r)
        Path dir = tmp.resolve("patterns");
        PeftAdapter.randomForShape(TINY, 4, 8, EnumSet.of(ProjectionKind.Q, ProjectionKind.UP), 9).write(dir);
        rewriteConfig(dir, Map.of("alpha_pattern", Map.of("mlp.up_proj", 2L), "use_rslora", true));
        LoraAdapter a = PeftAdapter.load(dir, LoadOptions.defaults());
        assertEquals(8f / 2f, a.target(0, ProjectionKind.Q).orElseThrow().scale());
        assertEquals(2f / 2f, a.target(1, ProjectionKind.UP).orElseThrow().scale());
        rewriteConfig(dir, Map.of("use_rslora", false, "r", 16L, "rank_pattern", Map.of("q_proj", 4L, "up_proj", 4L),
                "alpha_pattern", Map.of("layers\\.1\\.mlp\\.up_proj", 12L)));
        a = PeftAdapter.load(dir, LoadOptions.defaults());
        assertEquals(2f, a.target(0, ProjectionKind.UP).orElseThrow().scale());
        assertEquals(3f, a.target(1, ProjectionKind.UP).orElseThrow().scale());
        // target_modules as a regex over the whole module name, layers_to_transform as a list
        rewriteConfig(dir, Map.of("rank_pattern", Map.of(), "r", 4L, "alpha_pattern", Map.of(),
                "target_modules", "model\\.layers\\.\\d+\\.(self_attn\\.q_proj|mlp\\.up_proj)",
                "layers_to_transform", List.of(0L, 1L, 2L)));
        assertEquals(6, PeftAdapter.load(dir, LoadOptions.defaults()).targets().size());
        rewriteConfig(dir, Map.of("target_modules", "all-linear", "layers_to_transform", 1L));
        AdapterValidationException notLayer = assertThrows(AdapterValidationException.class,
                () -> PeftAdapter.load(dir, LoadOptions.defaults()));
        assertTrue(notLayer.getMessage().contains("model.layers.0.mlp.up_proj has weights but is not selected"),
                notLayer.getMessage());
        rewriteConfig(dir, Map.of("layers_to_transform", List.of(2L, 1L, 0L)));
        assertEquals(6, PeftAdapter.load(dir, LoadOptions.defaults()).targets().size());
        // fan_in_fan_out is accepted: PEFT stores A [r x in] and B [out x r] either way
        rewriteConfig(dir, Map.of("fan_in_fan_out", true, "target_modules", List.of("q_proj", "up_proj")));
        LoraAdapter fifo = PeftAdapter.load(dir, LoadOptions.defaults());
        fifo.validateAgainst(TINY);
        assertEquals(24, fifo.target(2, ProjectionKind.UP).orElseThrow().out());
    }

    // ------------------------------------------------------------------ malformed weights

    private Path adapterWithTensors(String name, SafeTensorsWriter w, List<String> targets) throws IOException {
        Path dir = tmp.resolve(name);
        Files.createDirectories(dir);
        Files.write(dir.resolve("adapter_config.json"), PeftConfig.simple(2, 4, targets, "test").toJson());
        w.writeTo(dir.resolve("adapter_model.safetensors"));
        return dir;
    }

    private static final String Q0 = "base_model.model.model.layers.0.self_attn.q_proj";

    private void assertRejectedTensors(String name, SafeTensorsWriter w, List<String> targets, String fragment)
            throws IOException {
        Path dir = adapterWithTensors(name, w, targets);
        AdapterValidationException e = assertThrows(AdapterValidationException.class,
                () -> PeftAdapter.load(dir, LoadOptions.defaults()));
        assertTrue(e.getMessage().contains(fragment), "expected '" + fragment + "' in: " + e.getMessage());
    }

    @Test
    void malformedWeightsAreRejectedWithClearErrors() throws IOException {
        float[] a = new float[2 * 16];
        float[] b = new float[16 * 2];
        assertRejectedTensors("noB", new SafeTensorsWriter()
                .addFloats(Q0 + ".lora_A.weight", SafeTensorsDType.F32, new long[] {2, 16}, a),
                List.of("q_proj"), "model.layers.0.self_attn.q_proj has lora_A but no lora_B");
        assertRejectedTensors("noA", new SafeTensorsWriter()
                .addFloats(Q0 + ".lora_B.weight", SafeTensorsDType.F32, new long[] {16, 2}, b),
                List.of("q_proj"), "has lora_B but no lora_A");
        float[] nan = a.clone();
        nan[17] = Float.NaN;
        assertRejectedTensors("nan", new SafeTensorsWriter()
                .addFloats(Q0 + ".lora_A.weight", SafeTensorsDType.F32, new long[] {2, 16}, nan)
                .addFloats(Q0 + ".lora_B.weight", SafeTensorsDType.F32, new long[] {16, 2}, b),
                List.of("q_proj"), "lora_A.weight holds NaN at [1, 1]");
        float[] inf = b.clone();
        inf[3] = Float.NEGATIVE_INFINITY;
        assertRejectedTensors("inf", new SafeTensorsWriter()
                .addFloats(Q0 + ".lora_A.weight", SafeTensorsDType.F16, new long[] {2, 16}, a)
                .addFloats(Q0 + ".lora_B.weight", SafeTensorsDType.F16, new long[] {16, 2}, inf),
                List.of("q_proj"), "holds -Infinity");
        assertRejectedTensors("ranks", new SafeTensorsWriter()
                .addFloats(Q0 + ".lora_A.weight", SafeTensorsDType.F32, new long[] {2, 16}, a)
                .addFloats(Q0 + ".lora_B.weight", SafeTensorsDType.F32, new long[] {8, 4}, b),
                List.of("q_proj"), "with different ranks");
        assertRejectedTensors("vector", new SafeTensorsWriter()
                .addFloats(Q0 + ".lora_A.weight", SafeTensorsDType.F32, new long[] {32}, a)
                .addFloats(Q0 + ".lora_B.weight", SafeTensorsDType.F32, new long[] {16, 2}, b),
                List.of("q_proj"), "must be matrices");
        assertRejectedTensors("embedding", new SafeTensorsWriter()
                .addFloats("base_model.model.model.embed_tokens.lora_embedding_A", SafeTensorsDType.F32,
                        new long[] {2, 16}, a), List.of("q_proj"), "embedding LoRA");
        assertRejectedTensors("biasKey", new SafeTensorsWriter()
                .addFloats(Q0 + ".lora_B.bias", SafeTensorsDType.F32, new long[] {16}, new float[16]),
                List.of("q_proj"), "LoRA bias is not supported");
        assertRejectedTensors("prefix", new SafeTensorsWriter()
                .addFloats("model.layers.0.self_attn.q_proj.lora_A.weight", SafeTensorsDType.F32,
                        new long[] {2, 16}, a), List.of("q_proj"), "does not start with base_model.model.");
        assertRejectedTensors("empty", new SafeTensorsWriter(), List.of("q_proj"), "has no LoRA tensors");
        String odd = "base_model.model.model.layers.0.mlp.q_proj";
        assertRejectedTensors("path", new SafeTensorsWriter()
                .addFloats(odd + ".lora_A.weight", SafeTensorsDType.F32, new long[] {2, 16}, a)
                .addFloats(odd + ".lora_B.weight", SafeTensorsDType.F32, new long[] {16, 2}, b),
                List.of("q_proj"), "module path model.layers.0.mlp.q_proj is not a Llama layer projection");
    }

    @Test
    void missingOrCorruptFilesAreReported() throws IOException {
        AdapterValidationException e = assertThrows(AdapterValidationException.class,
                () -> PeftAdapter.load(tmp.resolve("nope"), LoadOptions.defaults()));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
        Path dir = tmp.resolve("pickle");
        Files.createDirectories(dir);
        Files.write(dir.resolve("adapter_config.json"), PeftConfig.simple(2, 4, List.of("q_proj"), "t").toJson());
        Files.write(dir.resolve("adapter_model.bin"), new byte[10]);
        e = assertThrows(AdapterValidationException.class, () -> PeftAdapter.load(dir, LoadOptions.defaults()));
        assertTrue(e.getMessage().contains("adapter_model.bin, a pickle, is not read"), e.getMessage());
        Files.write(dir.resolve("adapter_model.safetensors"), new byte[] {1, 2, 3});
        e = assertThrows(AdapterValidationException.class, () -> PeftAdapter.load(dir, LoadOptions.defaults()));
        assertTrue(e.getMessage().contains("shorter than the 8-byte header length"), e.getMessage());
        Files.writeString(dir.resolve("adapter_config.json"), "{\"peft_type\": \"LORA\",}", StandardCharsets.UTF_8);
        e = assertThrows(AdapterValidationException.class, () -> PeftAdapter.load(dir, LoadOptions.defaults()));
        assertTrue(e.getMessage().contains("adapter_config.json is not valid JSON"), e.getMessage());
    }

    // ------------------------------------------------------------------ validation against the model

    @Test
    void validateAgainstNamesTheMismatch() {
        LoraAdapter a = PeftAdapter.randomForShape(TINY, 2, 2, EnumSet.of(ProjectionKind.K), 3).toLoraAdapter("tiny");
        a.validateAgainst(TINY);
        ModelShape mha = new ModelShape(ModelShape.LLAMA, 16, 24, 3, 4, 4, 100);
        AdapterValidationException e = assertThrows(AdapterValidationException.class, () -> a.validateAgainst(mha));
        assertEquals("adapter tiny shape mismatch for tensor blk.0.attn_k.weight (model.layers.0.self_attn.k_proj):"
                + " adapter delta B@A is [8 x 16] (A [2 x 16], B [8 x 2]) but the model tensor is [16 x 16]",
                e.getMessage());
        ModelShape shallow = new ModelShape(ModelShape.LLAMA, 16, 24, 2, 4, 2, 100);
        e = assertThrows(AdapterValidationException.class, () -> a.validateAgainst(shallow));
        assertEquals("adapter tiny targets layer 2 (k_proj) but the model has 2 layers (0..1)", e.getMessage());
        ModelShape other = new ModelShape("gpt2", 16, 24, 3, 4, 2, 100);
        e = assertThrows(AdapterValidationException.class, () -> a.validateAgainst(other));
        assertEquals("adapter tiny is for architecture 'llama' but the model is 'gpt2'", e.getMessage());
    }
}
