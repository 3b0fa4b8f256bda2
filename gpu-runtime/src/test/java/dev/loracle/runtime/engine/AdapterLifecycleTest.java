package dev.loracle.runtime.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.runtime.lora.AdapterValidationException;
import dev.loracle.runtime.lora.LoraAdapter;
import dev.loracle.runtime.lora.LoraTarget;
import dev.loracle.runtime.lora.ModelShape;
import dev.loracle.runtime.lora.PeftAdapter;
import dev.loracle.runtime.lora.ProjectionKind;
import dev.loracle.runtime.lora.WeightedAdapter;
import dev.loracle.runtime.memory.MemoryCategory;
import dev.loracle.runtime.memory.RedLineExceededException;
import dev.loracle.runtime.model.TestModels;
import dev.loracle.runtime.model.WeightFormat;
import dev.loracle.runtime.tensor.GgmlType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class AdapterLifecycleTest {
    static final Set<ProjectionKind> QKVO = EnumSet.of(ProjectionKind.Q, ProjectionKind.K, ProjectionKind.V, ProjectionKind.O);

    static InferenceEngine open(Path model, WeightFormat quant) {
        return InferenceEngine.open(EngineConfig.of(model).withQuant(quant).withThreads(2).withBackend(BackendKind.CPU));
    }

    static LoraAdapter random(ModelShape shape, int rank, Set<ProjectionKind> kinds, long seed) {
        return PeftAdapter.randomForShape(shape, rank, 2f * rank, kinds, seed).toLoraAdapter("random-" + seed);
    }

    static float maxAbsDiff(float[] a, float[] b) {
        float m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    static float maxAbs(float[] a) {
        float m = 0;
        for (float v : a) m = Math.max(m, Math.abs(v));
        return m;
    }

    private static final int[] TOKENS = {1, 403, 407, 261, 378, 11, 30};

    @ParameterizedTest
    @ValueSource(strings = {"f32", "q8", "q4"})
    void thousandAttachDetachCyclesLeaveBaseBitsAndMemoryUnchanged(String file) {
        try (InferenceEngine e = open(GoldenGenerationTest.model(file), WeightFormat.AS_FILE)) {
            Map<String, byte[]> before = e.baseTensorDigests();
            long base = e.memory().used();
            assertEquals(e.memory().baseBytes(), base);
            float[] baseLogits = e.logits(null, TOKENS);
            ModelShape shape = e.shape();
            LoraAdapter a = random(shape, 4, EnumSet.allOf(ProjectionKind.class), 1);
            LoraAdapter b = random(shape, 2, QKVO, 2);
            for (int i = 0; i < 1000; i++) {
                AttachMode mode = i % 2 == 0 ? AttachMode.MERGED : AttachMode.UNMERGED;
                Attachment att = e.attach(List.of(new WeightedAdapter(a, 0.7f), new WeightedAdapter(b, -0.3f)), mode);
                assertTrue(e.memory().used() > base, "attachment holds memory");
                if (i % 250 == 0) {
                    assertTrue(maxAbsDiff(baseLogits, e.logits(att, TOKENS)) > 1e-3f, "adapter has an effect");
                }
                e.detach(att);
                assertEquals(base, e.memory().used(), "cycle " + i);
            }
            Map<String, byte[]> after = e.baseTensorDigests();
            assertEquals(before.keySet(), after.keySet());
            for (String k : before.keySet()) assertArrayEquals(before.get(k), after.get(k), k);
            assertArrayEquals(baseLogits, e.logits(null, TOKENS));
            assertEquals(0, e.memory().used(MemoryCategory.WORKING_COPY) + e.memory().used(MemoryCategory.ADAPTER)
                    + e.memory().used(MemoryCategory.KV_CACHE) + e.memory().used(MemoryCategory.SCRATCH));
        }
    }

    @Test
    void mergedAndUnmergedLogitsAgreeOnF32() {
        try (InferenceEngine e = open(TestModels.ggufF32(), WeightFormat.AS_FILE)) {
            ModelShape s = e.shape();
            List<WeightedAdapter> adapters = List.of(
                    new WeightedAdapter(random(s, 8, EnumSet.allOf(ProjectionKind.class), 11), 0.8f),
                    new WeightedAdapter(random(s, 3, QKVO, 12), 1.5f),
                    new WeightedAdapter(random(s, 16, EnumSet.of(ProjectionKind.GATE, ProjectionKind.DOWN), 13), -0.6f));
            float[] base = e.logits(null, TOKENS);
            Attachment m = e.attach(adapters, AttachMode.MERGED);
            float[] merged = e.logits(m, TOKENS);
            e.detach(m);
            Attachment u = e.attach(adapters, AttachMode.UNMERGED);
            float[] unmerged = e.logits(u, TOKENS);
            e.detach(u);
            float effect = maxAbsDiff(base, merged);
            assertTrue(effect > 0.05f * maxAbs(base), "adapters change the logits: " + effect);
            float diff = maxAbsDiff(merged, unmerged);
            assertTrue(diff < 1e-3f * maxAbs(merged), "MERGED vs UNMERGED differ by " + diff);
        }
    }

    @Test
    void weightAndMinusWeightCancelAndZeroWeightIsTheBase() {
        try (InferenceEngine e = open(TestModels.ggufF32(), WeightFormat.AS_FILE)) {
            LoraAdapter a = random(e.shape(), 8, EnumSet.allOf(ProjectionKind.class), 21);
            float[] base = e.logits(null, TOKENS);
            Attachment att = e.attach(List.of(new WeightedAdapter(a, 0.9f), new WeightedAdapter(a, -0.9f)), AttachMode.MERGED);
            float[] cancelled = e.logits(att, TOKENS);
            e.detach(att);
            assertTrue(maxAbsDiff(base, cancelled) < 1e-4f * maxAbs(base), "w and -w cancel: " + maxAbsDiff(base, cancelled));
            Attachment zero = e.attach(List.of(new WeightedAdapter(a, 0f)), AttachMode.UNMERGED);
            assertArrayEquals(base, e.logits(zero, TOKENS));
            e.detach(zero);
        }
    }

    @Test
    void compositeMergeIsTheSumOfSeparateDeltas() {
        // merging (A, 1) and (B, 1) together equals merging A then (on a fresh engine) the combination via UNMERGED
        try (InferenceEngine e = open(TestModels.ggufF32(), WeightFormat.AS_FILE)) {
            LoraAdapter a = random(e.shape(), 4, QKVO, 31);
            LoraAdapter b = random(e.shape(), 6, EnumSet.of(ProjectionKind.Q, ProjectionKind.UP), 32);
            Attachment both = e.attach(List.of(new WeightedAdapter(a, 1f), new WeightedAdapter(b, 1f)), AttachMode.MERGED);
            float[] composite = e.logits(both, TOKENS);
            e.detach(both);
            Attachment onlyA = e.attach(List.of(new WeightedAdapter(a, 1f)), AttachMode.MERGED);
            float[] justA = e.logits(onlyA, TOKENS);
            e.detach(onlyA);
            assertTrue(maxAbsDiff(composite, justA) > 1e-3f, "B contributes");
            Attachment u = e.attach(List.of(new WeightedAdapter(b, 1f), new WeightedAdapter(a, 1f)), AttachMode.UNMERGED);
            assertTrue(maxAbsDiff(composite, e.logits(u, TOKENS)) < 1e-3f * maxAbs(composite));
            e.detach(u);
        }
    }

    @Test
    void mergedWorkingCopiesKeepTheBaseFormat() {
        try (InferenceEngine e = open(TestModels.ggufF32(), WeightFormat.Q8_0)) {
            LoraAdapter a = random(e.shape(), 4, EnumSet.of(ProjectionKind.Q, ProjectionKind.DOWN), 41);
            Attachment att = e.attach(List.of(new WeightedAdapter(a, 8f)), AttachMode.MERGED);
            var wq = e.weights().projection(0, ProjectionKind.Q);
            var wd = e.weights().projection(0, ProjectionKind.DOWN);
            assertEquals(GgmlType.Q8_0, wq.type());
            assertEquals(GgmlType.F32, wd.type());
            // one Q8_0 working copy per layer for Q and one F32 copy for DOWN: exactly their byte sizes
            long expected = e.shape().nLayers() * (wq.byteSize() + wd.byteSize());
            assertEquals(expected, e.memory().used(MemoryCategory.WORKING_COPY));
            assertEquals(expected, att.bytes());
            GenerationResult withAdapter = e.generate(att, GenerationRequest.greedy("Once upon a time", 20), null);
            e.detach(att);
            GenerationResult base = e.generate(null, GenerationRequest.greedy("Once upon a time", 20), null);
            assertFalse(java.util.Arrays.equals(base.tokens(), withAdapter.tokens()), "adapter changes the text");
        }
    }

    @Test
    void invalidAdaptersAreRejectedBeforeAnythingIsAttached() {
        try (InferenceEngine e = open(TestModels.ggufF32(), WeightFormat.AS_FILE)) {
            long base = e.memory().used();
            ModelShape other = new ModelShape(ModelShape.LLAMA, 128, 256, 5, 8, 4, 512);
            LoraAdapter wrong = random(other, 4, QKVO, 51);
            LoraAdapter good = random(e.shape(), 4, QKVO, 52);
            assertThrows(AdapterValidationException.class,
                    () -> e.attach(List.of(new WeightedAdapter(good, 1f), new WeightedAdapter(wrong, 1f)), AttachMode.MERGED));
            assertEquals(base, e.memory().used());

            LoraTarget t = good.targets().get(3);
            MemorySegment badA = Arena.ofAuto().allocate(t.a().byteSize());
            MemorySegment.copy(t.a(), 0, badA, 0, t.a().byteSize());
            badA.setAtIndex(LoraTarget.F32, 5, Float.NaN);
            List<LoraTarget> targets = new java.util.ArrayList<>(good.targets());
            targets.set(3, new LoraTarget(t.layer(), t.kind(), t.rank(), t.in(), t.out(), t.scale(), badA, t.b()));
            LoraAdapter nan = new LoraAdapter("nan", ModelShape.LLAMA, targets);
            AdapterValidationException ex = assertThrows(AdapterValidationException.class,
                    () -> e.attach(List.of(new WeightedAdapter(nan, 1f)), AttachMode.UNMERGED));
            assertTrue(ex.getMessage().contains("non-finite"), ex.getMessage());
            assertEquals(base, e.memory().used());

            Attachment att = e.attach(List.of(new WeightedAdapter(good, 1f)), AttachMode.UNMERGED);
            Attachment second = e.attach(List.of(new WeightedAdapter(good, 1f)), AttachMode.MERGED); // sets may coexist
            assertEquals(1, e.adapters().size(), "one resident copy of the adapter for both attachments");
            e.detach(second);
            e.detach(att);
            assertEquals(base, e.memory().used());
            e.detach(att); // idempotent
            assertThrows(IllegalStateException.class, () -> e.generate(att, GenerationRequest.greedy("x", 2), null));
            assertThrows(IllegalArgumentException.class, () -> e.attach(List.of(), AttachMode.MERGED));
        }
    }

    @Test
    void redLineFailsFastOnAttachAndOnGenerate() {
        long baseBytes;
        try (InferenceEngine probe = open(TestModels.ggufF32(), WeightFormat.AS_FILE)) {
            baseBytes = probe.memory().baseBytes();
        }
        long kv100 = 2L * 5 * 100 * 32 * 4; // 2 x layers x positions x kvDim x 4 bytes
        EngineConfig cfg = EngineConfig.of(TestModels.ggufF32()).withThreads(2).withBackend(BackendKind.CPU)
                .withRedLineBytes(baseBytes + kv100 + 1000);
        try (InferenceEngine e = InferenceEngine.open(cfg)) {
            LoraAdapter big = random(e.shape(), 8, EnumSet.allOf(ProjectionKind.class), 61);
            RedLineExceededException ex = assertThrows(RedLineExceededException.class,
                    () -> e.attach(List.of(new WeightedAdapter(big, 1f)), AttachMode.MERGED));
            assertEquals(MemoryCategory.ADAPTER, ex.category(), "the adapter store makes A/B resident before any merge");
            assertEquals(baseBytes, e.memory().used());
            // 95 positions fit, 120 do not
            assertEquals(10, e.generate(null, GenerationRequest.greedy("Once upon a time", 10), null).tokens().length);
            RedLineExceededException kv = assertThrows(RedLineExceededException.class,
                    () -> e.generate(null, GenerationRequest.greedy("Once upon a time", 115), null));
            assertEquals(MemoryCategory.KV_CACHE, kv.category());
            assertEquals(baseBytes, e.memory().used());
            // INT8 KV cache needs about a quarter: the same request fits
        }
        try (InferenceEngine e = InferenceEngine.open(cfg.withKvCache(KvCacheType.INT8))) {
            int n = e.generate(null, GenerationRequest.greedy("Once upon a time", 115), null).tokens().length;
            assertTrue(n > 0 && n <= 115, "int8 KV fits under the same red line");
        }
    }

    @Test
    void contextOverflowHasAClearMessage() {
        try (InferenceEngine e = open(TestModels.ggufF32(), WeightFormat.AS_FILE)) {
            ContextOverflowException ex = assertThrows(ContextOverflowException.class,
                    () -> e.generate(null, GenerationRequest.greedy("Once upon a time", 124), null));
            assertTrue(ex.getMessage().contains("context length of 128"), ex.getMessage());
            assertEquals(5, ex.promptTokens());
            int n = e.generate(null, GenerationRequest.greedy("Once upon a time", 123), null).tokens().length;
            assertTrue(n > 0 && n <= 123, "exactly filling the context works");
        }
    }
}
