package dev.loracle.runtime.conformance;

import dev.loracle.runtime.cuda.CudaBackend;
import dev.loracle.runtime.engine.AdapterWeight;
import dev.loracle.runtime.engine.AttachMode;
import dev.loracle.runtime.engine.EngineConfig;
import dev.loracle.runtime.engine.GenerationRequest;
import dev.loracle.runtime.engine.GenerationResult;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.engine.ResidentAdapter;
import dev.loracle.runtime.engine.SequenceRequest;
import dev.loracle.runtime.lora.PeftAdapter;
import dev.loracle.runtime.lora.ProjectionKind;
import dev.loracle.runtime.memory.MemoryBudget;
import dev.loracle.runtime.model.LoadedModel;
import dev.loracle.runtime.model.ModelLoader;
import dev.loracle.runtime.model.TestModels;
import dev.loracle.runtime.model.WeightFormat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Batch invariance of the CUDA backend's code through the real engine (scheduler, paged KV, resident adapters, MERGED
 * copies), on the host emulation of the kernels: a request alone gives the same tokens as the same request inside a
 * batch of 16 mixed requests (other adapter sets of mixed ranks, MERGED and UNMERGED, greedy and sampled, prompts
 * split into chunks by a small step budget).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EmulatedCudaBatchInvarianceTest {
    private static final String[] PROMPTS = {"Once upon a time", "The little dog ran to the park and", "Lily",
            "One day, a big bear found a red ball in the forest. He", "Tom and Sue", "The sun was"};

    private InferenceEngine engine;
    private final List<ResidentAdapter> adapters = new ArrayList<>();

    @BeforeAll
    void open() {
        String why = EmulatedCuda.unavailableReason();
        assumeTrue(why == null, () -> "CUDA emulation unavailable: " + why);
        Arena arena = Arena.ofShared();
        LoadedModel m = ModelLoader.load(TestModels.ggufQ8(), null, WeightFormat.AS_FILE, arena);
        EngineConfig cfg = EngineConfig.of(TestModels.ggufQ8()).withStepTokens(24).withMaxRunning(32);
        CudaBackend backend = CudaBackend.onRuntime(new EmulatedCuda.Device(), new EmulatedCuda.Launcher(),
                new MemoryBudget("cuda-emu:0", 4L << 30), "host emulation of the CUDA kernels (no GPU)");
        engine = InferenceEngine.create(cfg, m, backend, arena);
        int[] ranks = {4, 8, 16, 32, 8, 12};
        for (int i = 0; i < ranks.length; i++) {
            EnumSet<ProjectionKind> kinds = i % 2 == 0 ? EnumSet.allOf(ProjectionKind.class)
                    : EnumSet.of(ProjectionKind.Q, ProjectionKind.V, ProjectionKind.DOWN);
            adapters.add(engine.adapters().load(PeftAdapter.randomForShape(engine.shape(), ranks[i], 2f * ranks[i], kinds,
                    700 + i).toLoraAdapter("random-" + (700 + i))));
        }
    }

    @AfterAll
    void close() {
        if (engine == null) return;
        adapters.forEach(ResidentAdapter::close);
        assertEquals(engine.memory().baseBytes(), engine.memory().used(), "memory back to the base once every adapter is released");
        engine.close();
    }

    private SequenceRequest request(int i) {
        List<AdapterWeight> set = new ArrayList<>();
        for (int m = 0; m < i % 4; m++) set.add(new AdapterWeight(adapters.get((i + 2 * m) % adapters.size()), 0.4f + 0.3f * m));
        float temperature = i % 3 == 0 ? 0f : 0.8f;
        GenerationRequest p = new GenerationRequest(PROMPTS[i % PROMPTS.length], 4 + i % 5, temperature, i % 2 == 0 ? 1f : 0.9f, 1000 + i);
        AttachMode mode = i % 5 == 3 ? AttachMode.MERGED : AttachMode.UNMERGED;
        return SequenceRequest.of(p).withAdapters(set).withMode(mode).withIgnoreEos(true);
    }

    @Test
    void aRequestAloneEqualsTheSameRequestInAMixedBatchOf16() throws Exception {
        for (int target : new int[] {7, 3}) {   // 7: UNMERGED set of 3, sampled; 3: MERGED set of 3, greedy
            SequenceRequest req = request(target);
            int[] alone = engine.submit(req).result().get(300, TimeUnit.SECONDS).tokens();
            List<CompletableFuture<GenerationResult>> all = new ArrayList<>();
            CompletableFuture<GenerationResult> mine = null;
            for (int i = 0; i < 16; i++) {
                CompletableFuture<GenerationResult> f = engine.submit(i == 8 ? req : request(100 + i)).result();
                if (i == 8) mine = f;
                all.add(f);
            }
            for (CompletableFuture<GenerationResult> f : all) f.get(300, TimeUnit.SECONDS);
            assertArrayEquals(alone, mine.get().tokens(), "tokens of request " + target + " alone vs inside a mixed batch of 16");
        }
    }
}
