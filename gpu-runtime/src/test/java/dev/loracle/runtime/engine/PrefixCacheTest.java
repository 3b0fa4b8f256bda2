package dev.loracle.runtime.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.runtime.lora.LoraAdapter;
import dev.loracle.runtime.lora.PeftAdapter;
import dev.loracle.runtime.lora.ProjectionKind;
import dev.loracle.runtime.memory.RedLineExceededException;
import dev.loracle.runtime.model.TestModels;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The KV prefix cache: a turn that extends a finished sequence's tokens reuses its full blocks and computes only the
 * rest, with the same tokens as a full prefill (also inside a mixed batch); blocks are shared only when the adapter
 * set's content, weights and mode agree; cached blocks are evicted before admission refuses, and dropping the cache
 * brings accounted memory back to the base.
 */
class PrefixCacheTest {
    static EngineConfig config(KvCacheType kv, boolean cache) {
        return EngineConfig.of(TestModels.ggufQ8()).withThreads(2).withBackend(BackendKind.CPU).withKvCache(kv)
                .withStepTokens(24).withPrefixCache(cache);
    }

    static int[] randomTokens(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = 3 + r.nextInt(500);
        return t;
    }

    static int[] concat(int[]... parts) {
        int n = 0;
        for (int[] p : parts) n += p.length;
        int[] out = new int[n];
        int o = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, out, o, p.length);
            o += p.length;
        }
        return out;
    }

    static SequenceRequest turn(int[] prompt, int maxTokens, long seed) {
        return SequenceRequest.of(new GenerationRequest("", maxTokens, 0.8f, 0.95f, seed)).withPromptTokens(prompt).withIgnoreEos(true);
    }

    /** Three turns of one conversation: each prompt is the previous prompt, its answer and new tokens. */
    private static List<GenerationResult> conversation(InferenceEngine e, List<AdapterWeight> set) {
        List<GenerationResult> out = new ArrayList<>();
        int[] history = randomTokens(45, 1);
        for (int k = 0; k < 3; k++) {
            GenerationResult r = InferenceEngine.await(e.submit(turn(history, 20, 10 + k).withAdapters(set)));
            out.add(r);
            history = concat(history, r.tokens(), randomTokens(11 + k, 100 + k));
        }
        return out;
    }

    @ParameterizedTest
    @EnumSource(KvCacheType.class)
    void laterTurnsReuseTheCachedPrefixAndGiveTheSameTokens(KvCacheType kv) {
        List<GenerationResult> full, cached;
        try (InferenceEngine e = InferenceEngine.open(config(kv, false))) {
            full = conversation(e, List.of());
            assertEquals(0, e.prefixCache().hitBlocks());
        }
        try (InferenceEngine e = InferenceEngine.open(config(kv, true))) {
            cached = conversation(e, List.of());
            assertTrue(e.prefixCache().reclaimableBlocks() > 0, "finished turns leave their blocks cached");
            assertTrue(e.memory().used() > e.memory().baseBytes());
            e.dropPrefixCache();
            assertEquals(e.memory().baseBytes(), e.memory().used(), "dropping the cache returns memory to the base");
        }
        for (int k = 0; k < 3; k++) assertArrayEquals(full.get(k).tokens(), cached.get(k).tokens(), "turn " + k);
        assertEquals(0, cached.get(0).reusedPromptTokens());
        // turn 1's prompt = 45 + 20 + 11 = 76 tokens; turn 0 computed 45 + 19 = 64 positions = 4 full blocks
        assertEquals(64, cached.get(1).reusedPromptTokens());
        assertTrue(cached.get(2).reusedPromptTokens() >= 64 + 16, "turn 2 reuses turn 1's blocks: " + cached.get(2).reusedPromptTokens());
    }

    @Test
    void aCachedTurnInsideAMixedBatchGivesTheSameTokens() throws Exception {
        int[] first = randomTokens(70, 3);
        int[] second;
        int[] expected;
        try (InferenceEngine e = InferenceEngine.open(config(KvCacheType.F32, false))) {
            GenerationResult r = InferenceEngine.await(e.submit(turn(first, 10, 5)));
            second = concat(first, r.tokens(), randomTokens(9, 4));
            expected = InferenceEngine.await(e.submit(turn(second, 16, 6))).tokens();
        }
        try (InferenceEngine e = InferenceEngine.open(config(KvCacheType.F32, true).withMaxRunning(8))) {
            InferenceEngine.await(e.submit(turn(first, 10, 5)));
            List<Sequence> others = new ArrayList<>();
            for (int i = 0; i < 5; i++) others.add(e.submit(turn(randomTokens(20 + 13 * i, 50 + i), 12, i)));
            Sequence target = e.submit(turn(second, 16, 6));
            for (int i = 5; i < 8; i++) others.add(e.submit(turn(randomTokens(30 + i, 50 + i), 8, i)));
            GenerationResult got = target.result().get(60, TimeUnit.SECONDS);
            for (Sequence o : others) o.result().get(60, TimeUnit.SECONDS);
            assertArrayEquals(expected, got.tokens());
            assertEquals(64, got.reusedPromptTokens(), "70 + 9 computed positions = 4 full blocks before the new tokens");
        }
    }

    @Test
    void blocksAreSharedByAdapterContentAndWeightNotByName() {
        try (InferenceEngine e = InferenceEngine.open(config(KvCacheType.F32, true))) {
            LoraAdapter a = AdapterLifecycleTest.random(e.shape(), 4, EnumSet.allOf(ProjectionKind.class), 9);
            LoraAdapter sameContent = PeftAdapter.randomForShape(e.shape(), 4, 8f, EnumSet.allOf(ProjectionKind.class), 9).toLoraAdapter("another-name");
            LoraAdapter other = AdapterLifecycleTest.random(e.shape(), 4, EnumSet.allOf(ProjectionKind.class), 10);
            int[] prompt = randomTokens(40, 7);
            int[] longer = concat(prompt, randomTokens(5, 8));
            try (ResidentAdapter ra = e.adapters().load(a); ResidentAdapter rs = e.adapters().load(sameContent);
                 ResidentAdapter ro = e.adapters().load(other)) {
                InferenceEngine.await(e.submit(turn(prompt, 8, 1).withAdapters(List.of(new AdapterWeight(ra, 0.5f)))));
                assertEquals(0, reused(e, longer, List.of(new AdapterWeight(ro, 0.5f)), AttachMode.UNMERGED), "other content");
                assertEquals(0, reused(e, longer, List.of(new AdapterWeight(ra, 0.6f)), AttachMode.UNMERGED), "other weight");
                assertEquals(0, reused(e, longer, List.of(new AdapterWeight(ra, 0.5f)), AttachMode.MERGED), "other mode");
                assertEquals(0, reused(e, longer, List.of(), AttachMode.UNMERGED), "base");
                assertEquals(32, reused(e, longer, List.of(new AdapterWeight(rs, 0.5f)), AttachMode.UNMERGED), "same content, other name");
            }
            e.dropPrefixCache();
            assertEquals(e.memory().baseBytes(), e.memory().used());
        }
    }

    private static int reused(InferenceEngine e, int[] prompt, List<AdapterWeight> set, AttachMode mode) {
        return InferenceEngine.await(e.submit(turn(prompt, 2, 1).withAdapters(set).withMode(mode))).reusedPromptTokens();
    }

    @Test
    void admissionEvictsCachedBlocksBeforeItRefuses() throws Exception {
        long base, block;
        try (InferenceEngine probe = InferenceEngine.open(config(KvCacheType.F32, false))) {
            base = probe.memory().baseBytes();
            block = CpuKvBlocks.blockBytes(KvCacheType.F32, 5, 32, 8);
        }
        try (InferenceEngine e = InferenceEngine.open(config(KvCacheType.F32, true).withRedLineBytes(base + 6 * block))) {
            // each sequence: 60 + 20 = 80 positions = 5 blocks; finished, it leaves 4 full blocks cached
            for (int i = 0; i < 3; i++) {
                GenerationResult r = InferenceEngine.await(e.submit(turn(randomTokens(60, 20 + i), 20, i).withAdmission(Admission.FAIL_FAST)));
                assertEquals(20, r.tokens().length);
                assertTrue(e.memory().used() <= base + 6 * block);
            }
            assertTrue(e.prefixCache().evictions() > 0, "older cached blocks were evicted to admit newer sequences");
            // a sequence that can never fit is still refused
            ExecutionException ex = assertThrows(ExecutionException.class,
                    () -> e.submit(turn(randomTokens(90, 9), 20, 1)).result().get(30, TimeUnit.SECONDS));
            assertInstanceOf(RedLineExceededException.class, ex.getCause());
            e.dropPrefixCache();
            assertEquals(base, e.memory().used());
            assertEquals(0, e.prefixCache().cachedBlocks());
        }
    }

    @Test
    void hashChainsDependOnEveryToken() {
        BlockHash root = BlockHash.root("m", KvCacheType.F32, AttachMode.UNMERGED, List.of());
        int[] t = randomTokens(48, 1);
        List<BlockHash> a = root.chain(t, 3);
        int[] u = Arrays.copyOf(t, t.length);
        u[3]++;
        List<BlockHash> b = root.chain(u, 3);
        for (int i = 0; i < 3; i++) assertTrue(!a.get(i).equals(b.get(i)), "block " + i + " depends on block 0's tokens");
        assertEquals(a, root.chain(t.clone(), 3));
        assertTrue(!root.equals(BlockHash.root("m", KvCacheType.INT8, AttachMode.UNMERGED, List.of())));
        assertEquals(a.get(1), BlockHash.of(a.get(1).bytes()));
    }
}
