package dev.loracle.runtime.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.runtime.lora.LoraAdapter;
import dev.loracle.runtime.lora.ProjectionKind;
import dev.loracle.runtime.model.TestModels;
import dev.loracle.runtime.model.WeightFormat;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A sequence's tokens and logits depend only on (model, adapters + weights + mode, prompt, parameters, seed): the same
 * request alone and inside a batch of mixed requests (other adapter sets, MERGED and UNMERGED, other lengths and
 * sampling, prompts split into chunks by a small step budget) gives bit-identical logits and the same tokens.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BatchInvarianceTest {
    private static final String[] PROMPTS = {"Once upon a time", "The little dog ran to the park and", "Lily",
            "One day, a big bear found a red ball in the forest. He", "Tom and Sue", "The sun was"};

    private InferenceEngine engine;
    private final List<ResidentAdapter> adapters = new ArrayList<>();

    @BeforeAll
    void open() {
        engine = InferenceEngine.open(EngineConfig.of(TestModels.ggufQ8()).withQuant(WeightFormat.AS_FILE).withThreads(2)
                .withBackend(BackendKind.CPU).withStepTokens(24).withMaxRunning(32));
        int[] ranks = {4, 8, 16, 32, 8, 12};
        for (int i = 0; i < ranks.length; i++) {
            EnumSet<ProjectionKind> kinds = i % 2 == 0 ? EnumSet.allOf(ProjectionKind.class) : EnumSet.of(ProjectionKind.Q, ProjectionKind.V, ProjectionKind.DOWN);
            LoraAdapter a = AdapterLifecycleTest.random(engine.shape(), ranks[i], kinds, 700 + i);
            adapters.add(engine.adapters().load(a));
        }
    }

    @AfterAll
    void close() {
        adapters.forEach(ResidentAdapter::close);
        assertEquals(engine.memory().baseBytes(), engine.memory().used(), "memory back to the base once every adapter is released");
        engine.close();
    }

    /** Request i of a mixed population: adapter sets of 0..3 members, both modes, greedy and sampled. */
    private SequenceRequest request(int i) {
        List<AdapterWeight> set = new ArrayList<>();
        for (int m = 0; m < i % 4; m++) set.add(new AdapterWeight(adapters.get((i + 2 * m) % adapters.size()), 0.4f + 0.3f * m));
        float temperature = i % 3 == 0 ? 0f : 0.7f + 0.1f * (i % 4);
        GenerationRequest p = new GenerationRequest(PROMPTS[i % PROMPTS.length], 8 + i % 11, temperature, i % 2 == 0 ? 1f : 0.9f, 1000 + i);
        AttachMode mode = i % 5 == 3 ? AttachMode.MERGED : AttachMode.UNMERGED;
        return SequenceRequest.of(p).withAdapters(set).withMode(mode).withIgnoreEos(i % 2 == 1);
    }

    private record Run(int[] tokens, List<float[]> logits) {}

    private Run solo(SequenceRequest req) {
        List<float[]> logits = new ArrayList<>();
        GenerationResult r = InferenceEngine.await(engine.submit(req, logits::add));
        return new Run(r.tokens(), logits);
    }

    @Test
    void aRequestAloneEqualsTheSameRequestInAMixedBatchOf16() throws Exception {
        for (int target : new int[] {7, 3}) {   // 7: UNMERGED set of 3 sampled; 3: a MERGED set of 3, greedy
            SequenceRequest req = request(target);
            Run alone = solo(req);
            long stepsBefore = engine.steps();
            int soloSteps = 0;
            List<CompletableFuture<GenerationResult>> others = new ArrayList<>();
            List<float[]> logits = new ArrayList<>();
            CompletableFuture<GenerationResult> mine = null;
            for (int i = 0; i < 16; i++) {
                if (i == 8) mine = engine.submit(req, logits::add).result();
                else others.add(engine.submit(request(100 + i)).result());
                soloSteps += 8;
            }
            GenerationResult together = mine.get(60, TimeUnit.SECONDS);
            for (CompletableFuture<GenerationResult> f : others) f.get(60, TimeUnit.SECONDS);
            assertArrayEquals(alone.tokens(), together.tokens(), "tokens of request " + target + " inside the batch");
            assertEquals(alone.logits().size(), logits.size());
            for (int s = 0; s < logits.size(); s++) {
                assertArrayEquals(alone.logits().get(s), logits.get(s), "logits of request " + target + " at step " + s + " are bit-identical");
            }
            assertTrue(engine.steps() - stepsBefore < soloSteps, "the 16 requests shared steps (" + (engine.steps() - stepsBefore) + " steps)");
        }
    }

    @Test
    void thirtyTwoSequencesFromEightThreadsEachEqualTheirSoloRun() throws Exception {
        int n = 32;
        int[][] expected = new int[n][];
        for (int i = 0; i < n; i++) expected[i] = solo(request(i)).tokens();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<CompletableFuture<GenerationResult>>> submitted = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int k = i;
                submitted.add(pool.submit(() -> engine.submit(request(k)).result()));
            }
            for (int i = 0; i < n; i++) {
                GenerationResult r = submitted.get(i).get(60, TimeUnit.SECONDS).get(60, TimeUnit.SECONDS);
                assertArrayEquals(expected[i], r.tokens(), "sequence " + i + " submitted concurrently");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void membersListedInAnotherOrderGiveTheSameNumbers() {
        SequenceRequest req = request(7);
        List<AdapterWeight> reversed = new ArrayList<>(req.adapters()).reversed();
        assertArrayEquals(solo(req).tokens(), solo(req.withAdapters(reversed)).tokens());
    }
}
