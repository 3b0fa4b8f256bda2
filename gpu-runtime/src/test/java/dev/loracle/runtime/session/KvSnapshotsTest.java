package dev.loracle.runtime.session;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.runtime.engine.AttachMode;
import dev.loracle.runtime.engine.BackendKind;
import dev.loracle.runtime.engine.EngineConfig;
import dev.loracle.runtime.engine.GenerationRequest;
import dev.loracle.runtime.engine.GenerationResult;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.engine.KvCacheType;
import dev.loracle.runtime.engine.SequenceRequest;
import dev.loracle.runtime.model.TestModels;
import dev.loracle.runtime.session.SnapshotRejectedException.Reason;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletionException;
import java.util.function.Consumer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

/**
 * A session moves between engines: node A serves turns and captures a snapshot per turn; node B (a fresh engine)
 * resumes from the snapshot chain and serves the next turn, computing only the new tokens, with the same tokens as a
 * full prefill and as A's own prefix cache. Malformed, oversized, mismatched, tampered or unsigned snapshots are
 * rejected with the failed check named, and leave nothing behind.
 */
class KvSnapshotsTest {
    private static final KvSnapshots.AdapterSet BASE = new KvSnapshots.AdapterSet(List.of(), AttachMode.UNMERGED, "base");
    private static final Consumer<KvSnapshot> ANY_SIGNER = s -> {};

    /** An engine with the prefix cache and this KV type (the emulated CUDA suite overrides it). */
    InferenceEngine engine(KvCacheType kv) {
        return InferenceEngine.open(EngineConfig.of(TestModels.ggufQ8()).withThreads(2).withBackend(BackendKind.CPU)
                .withKvCache(kv).withStepTokens(32).withPrefixCache(true));
    }

    static int[] randomTokens(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = 3 + r.nextInt(500);
        return t;
    }

    static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static GenerationResult turn(InferenceEngine e, int[] prompt, long seed) {
        return e.submit(SequenceRequest.of(new GenerationRequest("", 12, 0.8f, 0.95f, seed))
                .withPromptTokens(prompt).withIgnoreEos(true)).result().join();
    }

    /** The conversation's state after turn k on the serving node: tokens so far and the snapshot chain. */
    record Served(int[] history, List<KvSnapshot> chain, List<GenerationResult> results) {}

    /** Node A serves {@code turns} turns, capturing a snapshot after each (chained by a fake CID = index). */
    static Served serve(InferenceEngine a, int turns) {
        KvSnapshots snaps = new KvSnapshots(a, 1e-3f);
        int[] history = randomTokens(20, 1);
        List<KvSnapshot> chain = new ArrayList<>();
        List<GenerationResult> results = new ArrayList<>();
        int end = 0;
        for (int k = 0; k < turns; k++) {
            GenerationResult r = turn(a, history, k);
            results.add(r);
            int[] done = concat(history, Arrays.copyOf(r.tokens(), r.tokens().length - 1)); // the last token is not in the KV yet
            var s = snaps.capture(chain.isEmpty() ? "" : "cid-" + (chain.size() - 1), done, end, BASE);
            if (s.isPresent()) {
                chain.add(KvSnapshot.decode(s.get().encode(), KvSnapshot.DEFAULT_MAX_BYTES));
                end = s.get().to();
            }
            history = concat(concat(history, r.tokens()), randomTokens(5 + k, 40 + k));
        }
        return new Served(history, chain, results);
    }


    @ParameterizedTest
    @EnumSource(KvCacheType.class)
    void theNextTurnOnAnotherEngineGivesTheSameTokensViaSnapshotCacheOrFullPrefill(KvCacheType kv) {
        Served served;
        int[] viaOwnCache;
        try (InferenceEngine a = engine(kv)) {
            served = serve(a, 3);
            viaOwnCache = turn(a, served.history(), 99).tokens();
        }
        assertEquals(3, served.chain().size(), "one snapshot per turn");
        int[] viaFull, viaSnapshot;
        int reused;
        try (InferenceEngine full = engine(kv)) {
            viaFull = turn(full, served.history(), 99).tokens();
        }
        try (InferenceEngine b = engine(kv)) {
            int cached = new KvSnapshots(b, 1e-3f).resume(served.chain(), served.history(), BASE, ANY_SIGNER);
            assertEquals(served.chain().getLast().to(), cached);
            GenerationResult r = turn(b, served.history(), 99);
            viaSnapshot = r.tokens();
            reused = r.reusedPromptTokens();
        }
        assertArrayEquals(viaFull, viaOwnCache, "own prefix cache");
        assertArrayEquals(viaFull, viaSnapshot, "snapshot chain");
        assertEquals(served.chain().getLast().to(), reused, "B prefilled only the tokens after the snapshots");
        assertTrue(served.history().length - reused < 16, "only the last turn's tokens were computed");
    }

    @Test
    void aChainMayStartLaterWhenThisEngineAlreadyHoldsTheBlocksBeforeIt() {
        Served served;
        try (InferenceEngine a = engine(KvCacheType.F32)) {
            served = serve(a, 3);
        }
        List<KvSnapshot> tail = served.chain().subList(1, 3);
        int[] expected;
        try (InferenceEngine full = engine(KvCacheType.F32)) {
            expected = turn(full, served.history(), 99).tokens();
        }
        try (InferenceEngine b = engine(KvCacheType.F32)) {
            KvSnapshots snaps = new KvSnapshots(b, 1e-3f);
            assertEquals(Reason.MISMATCH, rejected(() -> snaps.resume(tail, served.history(), BASE, ANY_SIGNER)),
                    "without the first link's blocks the tail is a gap");
            assertEquals(served.chain().getFirst().to(), snaps.resume(served.chain().subList(0, 1), served.history(), BASE, ANY_SIGNER));
            assertEquals(served.chain().getLast().to(), snaps.resume(tail, served.history(), BASE, ANY_SIGNER));
            GenerationResult r = turn(b, served.history(), 99);
            assertArrayEquals(expected, r.tokens());
            assertEquals(served.chain().getLast().to(), r.reusedPromptTokens());
        }
    }

    @Test
    void encodingRoundTripsAndDecodingRejectsBadBytes() {
        Served served;
        try (InferenceEngine a = engine(KvCacheType.INT8)) {
            served = serve(a, 1);
        }
        KvSnapshot s = served.chain().getFirst();
        byte[] bytes = s.withSignature(new byte[65]).encode();
        KvSnapshot back = KvSnapshot.decode(bytes, KvSnapshot.DEFAULT_MAX_BYTES);
        assertEquals(s.withSignature(new byte[65]), back);
        assertTrue(back.signed());
        assertArrayEquals(s.signingHash(), back.signingHash(), "the signature is not part of what is signed");

        assertEquals(Reason.OVERSIZED, rejected(() -> KvSnapshot.decode(bytes, bytes.length - 1)));
        assertEquals(Reason.MALFORMED, rejected(() -> KvSnapshot.decode(Arrays.copyOf(bytes, bytes.length - 70), 1 << 20)));
        assertEquals(Reason.MALFORMED, rejected(() -> KvSnapshot.decode(Arrays.copyOf(bytes, bytes.length + 1), 1 << 20)));
        byte[] magic = bytes.clone();
        magic[0] ^= 1;
        assertEquals(Reason.MALFORMED, rejected(() -> KvSnapshot.decode(magic, 1 << 20)));
        byte[] empty = new byte[0];
        assertEquals(Reason.MALFORMED, rejected(() -> KvSnapshot.decode(empty, 1 << 20)));
        // a NaN scale in the INT8 block (the scales are the block's last bytes, before the signature slot)
        byte[] nan = bytes.clone();
        int lastScale = bytes.length - 2 - 65 - 4;
        java.nio.ByteBuffer.wrap(nan).order(java.nio.ByteOrder.LITTLE_ENDIAN).putFloat(lastScale, Float.NaN);
        assertEquals(Reason.MALFORMED, rejected(() -> KvSnapshot.decode(nan, 1 << 20)));
    }

    @Test
    void mismatchedTamperedOrUnsignedSnapshotsAreRejectedAndTheTurnStillGivesTheSameTokens() {
        Served served;
        try (InferenceEngine a = engine(KvCacheType.F32)) {
            served = serve(a, 2);
        }
        List<KvSnapshot> chain = served.chain();
        int[] expected;
        try (InferenceEngine full = engine(KvCacheType.F32)) {
            expected = turn(full, served.history(), 99).tokens();
        }
        try (InferenceEngine b = engine(KvCacheType.F32)) {
            KvSnapshots snaps = new KvSnapshots(b, 1e-3f);
            // other tokens (the chain's history changed)
            int[] other = served.history().clone();
            other[5]++;
            assertEquals(Reason.MISMATCH, rejected(() -> snaps.resume(chain, other, BASE, ANY_SIGNER)));
            // another adapter set name, a gap in the chain
            assertEquals(Reason.MISMATCH, rejected(() -> snaps.resume(chain, served.history(),
                    new KvSnapshots.AdapterSet(List.of(), AttachMode.UNMERGED, "other"), ANY_SIGNER)));
            assertEquals(Reason.MISMATCH, rejected(() -> snaps.resume(chain.subList(1, 2), served.history(), BASE, ANY_SIGNER)));
            // another numeric profile
            KvSnapshot s0 = chain.getFirst();
            KvSnapshot wrongProfile = new KvSnapshot(s0.parentCid(), s0.from(), s0.to(), s0.tokensHash(), s0.chainHash(), s0.modelProfile(),
                    s0.adapterSet(), "cuda:0;dot=int8;kv-kernels=1", s0.kvType(), s0.layers(), s0.kvDim(), s0.headDim(), s0.blocks(), null);
            assertEquals(Reason.MISMATCH, rejected(() -> snaps.resume(List.of(wrongProfile), served.history(), BASE, ANY_SIGNER)));
            // unsigned, when the caller requires a signature
            assertEquals(Reason.UNSIGNED, rejected(() -> snaps.resume(chain, served.history(), BASE, s -> {
                if (!s.signed()) throw new SnapshotRejectedException(Reason.UNSIGNED, "no signature");
            })));
            // tampered rows: layer 0 keys of the first block change every later row of the last block
            List<byte[]> blocks = new ArrayList<>(s0.blocks());
            byte[] t = blocks.getFirst().clone();
            java.nio.ByteBuffer.wrap(t).order(java.nio.ByteOrder.LITTLE_ENDIAN).putFloat(4 * 3, 7.5f);
            blocks.set(0, t);
            KvSnapshot tampered = new KvSnapshot(s0.parentCid(), s0.from(), s0.to(), s0.tokensHash(), s0.chainHash(), s0.modelProfile(),
                    s0.adapterSet(), s0.numericProfile(), s0.kvType(), s0.layers(), s0.kvDim(), s0.headDim(), blocks, null);
            List<KvSnapshot> bad = List.of(tampered, chain.get(1));
            assertEquals(Reason.SPOT_CHECK, rejected(() -> snaps.resume(bad, served.history(), BASE, ANY_SIGNER)));
            assertEquals(0, b.prefixCache().cachedBlocks(), "nothing of a rejected chain stays cached");
            assertEquals(b.memory().baseBytes(), b.memory().used(), "memory back to the base");
            // and the turn, computed in full, gives the same tokens
            GenerationResult r = turn(b, served.history(), 99);
            assertArrayEquals(expected, r.tokens());
            assertEquals(0, r.reusedPromptTokens());
        }
    }

    private static Reason rejected(Runnable r) {
        try {
            r.run();
        } catch (SnapshotRejectedException e) {
            assertTrue(e.getMessage().startsWith("KV snapshot rejected"), e.getMessage());
            return e.reason();
        } catch (CompletionException e) {
            throw e;
        }
        throw new AssertionError("not rejected");
    }
}
