package dev.loracle.runtime.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.runtime.lora.LoraAdapter;
import dev.loracle.runtime.memory.MemoryCategory;
import dev.loracle.runtime.model.TestModels;
import dev.loracle.runtime.model.WeightFormat;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The resident adapter store: one copy per adapter id, refcounted, mixed sets in one step, memory back to the base. */
class ResidentAdaptersTest {

    private static Map<String, String> hex(Map<String, byte[]> d) {
        Map<String, String> m = new TreeMap<>();
        d.forEach((k, v) -> m.put(k, HexFormat.of().formatHex(v)));
        return m;
    }

    @Test
    void aThousandResidentRank16AdaptersServeRandomSetsAndLeaveOnlyTheBase() throws Exception {
        try (InferenceEngine e = InferenceEngine.open(EngineConfig.of(TestModels.ggufQ8()).withQuant(WeightFormat.AS_FILE)
                .withThreads(2).withBackend(BackendKind.CPU))) {
            long base = e.memory().used();
            Map<String, String> digests = hex(e.baseTensorDigests());
            List<ResidentAdapter> resident = new ArrayList<>();
            long adapterBytes = 0;
            for (int i = 0; i < 1000; i++) {
                LoraAdapter a = AdapterLifecycleTest.random(e.shape(), 16, AdapterLifecycleTest.QKVO, 5000 + i);
                resident.add(e.adapters().load(a));
                adapterBytes += a.bytes();
            }
            assertEquals(1000, e.adapters().size());
            assertEquals(adapterBytes, e.memory().used(MemoryCategory.ADAPTER), "each adapter resident once, accounted exactly");
            Random r = new Random(9);
            List<CompletableFuture<GenerationResult>> results = new ArrayList<>();
            for (int s = 0; s < 24; s++) {
                List<AdapterWeight> set = new ArrayList<>();
                for (int m = 0, k = 1 + r.nextInt(4); m < k; m++) set.add(new AdapterWeight(resident.get(r.nextInt(1000)), 0.5f + r.nextFloat()));
                GenerationRequest p = new GenerationRequest("Once upon a time", 6, 0.8f, 1f, s);
                results.add(e.submit(SequenceRequest.of(p).withAdapters(set).withIgnoreEos(true)).result());
            }
            for (CompletableFuture<GenerationResult> f : results) assertEquals(6, f.get(60, TimeUnit.SECONDS).tokens().length);
            resident.forEach(ResidentAdapter::close);
            assertEquals(0, e.adapters().size());
            assertEquals(base, e.memory().used(), "used bytes == base bytes after every adapter is released");
            assertEquals(digests, hex(e.baseTensorDigests()), "the base was never written");
        }
    }

    @Test
    void loadsOfOneIdShareOneCopyAndASequenceKeepsItsAdaptersAfterTheCallerCloses() throws Exception {
        try (InferenceEngine e = AdapterLifecycleTest.open(TestModels.ggufF32(), WeightFormat.AS_FILE)) {
            long base = e.memory().used();
            LoraAdapter a = AdapterLifecycleTest.random(e.shape(), 8, AdapterLifecycleTest.QKVO, 77);
            ResidentAdapter h1 = e.adapters().load(a), h2 = e.adapters().load(a);
            assertEquals(a.bytes(), e.memory().used(MemoryCategory.ADAPTER), "one copy for two loads");
            assertEquals(2, e.adapters().references(a.id()));
            h1.close();
            h1.close(); // idempotent
            assertEquals(1, e.adapters().references(a.id()));
            GenerationRequest p = GenerationRequest.greedy("Once upon a time", 12);
            float[] withAdapter = e.logits(null, new int[] {1, 403});
            List<float[]> logits = new ArrayList<>();
            Sequence s = e.submit(SequenceRequest.of(p).withAdapters(List.of(new AdapterWeight(h2, 1f))).withIgnoreEos(true), logits::add);
            h2.close();   // the sequence holds its own reference
            GenerationResult r = s.result().get(30, TimeUnit.SECONDS);
            assertEquals(12, r.tokens().length);
            List<float[]> baseLogits = new ArrayList<>();
            InferenceEngine.await(e.submit(SequenceRequest.of(p).withIgnoreEos(true), baseLogits::add));
            assertTrue(AdapterLifecycleTest.maxAbsDiff(baseLogits.getFirst(), logits.getFirst()) > 1e-3, "the adapter changed the logits");
            assertEquals(base, e.memory().used());
            assertThrows(IllegalStateException.class,
                    () -> e.submit(SequenceRequest.of(p).withAdapters(List.of(new AdapterWeight(h2, 1f)))), "a closed handle is refused");
            assertArrayEquals(withAdapter, e.logits(null, new int[] {1, 403}));
            try (InferenceEngine other = AdapterLifecycleTest.open(TestModels.ggufF32(), WeightFormat.AS_FILE);
                 ResidentAdapter foreign = other.adapters().load(a)) {
                assertThrows(IllegalArgumentException.class,
                        () -> e.submit(SequenceRequest.of(p).withAdapters(List.of(new AdapterWeight(foreign, 1f)))), "another engine's adapter");
                assertEquals(1, other.adapters().references(a.id()), "the refused submit released its reference");
            }
        }
    }

    @Test
    void mergedSequencesOfOneSetShareOneCopyBesideUnmergedOnes() throws Exception {
        try (InferenceEngine e = AdapterLifecycleTest.open(TestModels.ggufQ8(), WeightFormat.AS_FILE)) {
            long base = e.memory().used();
            ResidentAdapter a = e.adapters().load(AdapterLifecycleTest.random(e.shape(), 8, AdapterLifecycleTest.QKVO, 90));
            List<AdapterWeight> set = List.of(new AdapterWeight(a, 1f));
            GenerationRequest p = new GenerationRequest("Once upon a time", 20, 0f, 1f, 0);
            List<CompletableFuture<GenerationResult>> merged = new ArrayList<>();
            for (int i = 0; i < 4; i++) merged.add(e.submit(SequenceRequest.of(p).withAdapters(set).withMode(AttachMode.MERGED).withIgnoreEos(true)).result());
            CompletableFuture<GenerationResult> unmerged = e.submit(SequenceRequest.of(p).withAdapters(set).withIgnoreEos(true)).result();
            long peakCopies = 0;
            while (!merged.getLast().isDone()) peakCopies = Math.max(peakCopies, e.memory().used(MemoryCategory.WORKING_COPY));
            int[] first = merged.getFirst().get(30, TimeUnit.SECONDS).tokens();
            for (CompletableFuture<GenerationResult> f : merged) assertArrayEquals(first, f.get(30, TimeUnit.SECONDS).tokens());
            assertEquals(20, unmerged.get(30, TimeUnit.SECONDS).tokens().length);
            long oneCopy = e.backend().mergeBytes(MergedCopies.deltas(set));
            assertTrue(peakCopies <= oneCopy, "one shared merged copy at most (" + peakCopies + " <= " + oneCopy + ")");
            a.close();
            assertEquals(base, e.memory().used());
        }
    }
}
