package dev.loracle.oracle.session.snapshot;

import dev.loracle.ipfs.IpfsNodeProcess;
import dev.loracle.runtime.engine.BackendKind;
import dev.loracle.runtime.engine.EngineConfig;
import dev.loracle.runtime.engine.GenerationRequest;
import dev.loracle.runtime.engine.GenerationResult;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.engine.KvCacheType;
import dev.loracle.runtime.engine.SequenceRequest;
import dev.loracle.runtime.model.LoadedModel;
import dev.loracle.runtime.model.ModelConfig;
import dev.loracle.runtime.model.RandomModel;
import dev.loracle.runtime.model.WeightFormat;
import dev.loracle.runtime.tensor.ParallelRunner;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Node-level bench of the snapshot exchange (CPU backend, 110M shape with a 4096 context, random Q8_0 weights, INT8
 * KV): time to first token of turn k+1 on a node that did not serve turn k, via {@code prepare} (IPFS fetch from a
 * real js-ipfs/Kubo node, CID and signature checks, import, spot check) + prefill of the new tokens, against a full
 * recompute on a fresh node, for each history; plus bytes and {@code publish} time (the serving node's critical path)
 * of the first link (the whole history) and of a 64-token turn.
 * <p>Run: {@code mvn -pl oracle-service test-compile exec:exec@session-bench -Dbench.histories=256,1024,2048}.
 */
public final class SessionExchangeBench {
    private static final String SHAPE = "768,2048,12,12,12,32000,4096";
    private static final int NEW_TOKENS = 32, TURN_TOKENS = 64;

    public static void main(String[] args) throws Exception {
        int threads = Integer.getInteger("bench.threads", 2);
        int[] histories = Arrays.stream(System.getProperty("bench.histories", "256,1024,2048").split(",")).mapToInt(Integer::parseInt).toArray();
        ModelConfig c = RandomModel.parseShape(SHAPE);
        SnapshotProperties settings = new SnapshotProperties(true, Duration.ofSeconds(60), SnapshotPublisher.MAX_FILE_BYTES, 32, 16,
                256L << 20, 1e-3, Duration.ofSeconds(60));
        try (Arena arena = Arena.ofShared(); IpfsNodeProcess ipfs = IpfsNodeProcess.start()) {
            LoadedModel m;
            try (ParallelRunner pool = new ParallelRunner(threads)) {
                m = RandomModel.create(c, WeightFormat.Q8_0, 42, arena, pool);
            }
            EngineConfig cfg = EngineConfig.of(Path.of("random:" + SHAPE)).withQuant(WeightFormat.Q8_0).withThreads(threads)
                    .withKvCache(KvCacheType.INT8).withBackend(BackendKind.CPU).withPrefixCache(true).withStepTokens(512);
            System.out.printf(Locale.ROOT, "110M shape, Q8_0, KV INT8, %d threads, IPFS %s; turn k+1 adds %d tokens%n", threads, ipfs.kind(), NEW_TOKENS);
            System.out.printf(Locale.ROOT, "%8s %10s %12s %10s %8s %12s %10s %12s %10s %10s%n", "history", "full ms", "snapshot ms",
                    "prepare ms", "ratio", "link0 B", "publish0", "turn64 B", "publish64", "turn64 gen");
            for (int h : histories) {
                SimpleMeterRegistry meters = new SimpleMeterRegistry();
                int[] history = tokens(h, c.vocabSize(), h);
                String cid0, cid1;
                int[] afterTurn;
                long publish0, publish64, gen64, bytes0, bytes64;
                try (InferenceEngine a = InferenceEngine.create(cfg, m, (Arena) null);
                     IpfsKvSnapshotExchange onA = exchange(a, ipfs, settings, meters)) {
                    int[] after0 = concat(history, first(a, history).tokens());           // turn k-1: the history
                    long t0 = System.nanoTime();
                    byte[] c0 = onA.publish(SessionFixture.turn(1), after0, 0, "");
                    publish0 = System.nanoTime() - t0;
                    int[] prompt = concat(after0, tokens(TURN_TOKENS - 1, c.vocabSize(), -h));   // turn k: 64 more positions
                    t0 = System.nanoTime();
                    afterTurn = concat(prompt, first(a, prompt).tokens());
                    gen64 = System.nanoTime() - t0;
                    t0 = System.nanoTime();
                    byte[] c1 = onA.publish(SessionFixture.turn(2), afterTurn, after0.length, hex(c0));
                    publish64 = System.nanoTime() - t0;
                    if (c0.length == 0 || c1.length == 0) throw new IllegalStateException("nothing published");
                    cid0 = hex(c0);
                    cid1 = hex(c1);
                    if (!onA.awaitUploads(Duration.ofMinutes(5))) throw new IllegalStateException("uploads did not finish");
                    bytes0 = ipfs.client().cat(CidText.parse(cid0), Duration.ofMinutes(1)).length;
                    bytes64 = ipfs.client().cat(CidText.parse(cid1), Duration.ofMinutes(1)).length;
                }
                int[] next = concat(afterTurn, tokens(NEW_TOKENS, c.vocabSize(), h + 7));
                long full;
                try (InferenceEngine other = InferenceEngine.create(cfg, m, (Arena) null)) {
                    long t0 = System.nanoTime();
                    first(other, next);
                    full = System.nanoTime() - t0;
                }
                long viaSnapshot, prepare;
                try (InferenceEngine other = InferenceEngine.create(cfg, m, (Arena) null);
                     IpfsKvSnapshotExchange onB = exchange(other, ipfs, settings, new SimpleMeterRegistry())) {
                    long t0 = System.nanoTime();
                    ResumeOutcome outcome = onB.prepare(SessionFixture.turn(3), afterTurn, List.of(cid0, cid1));
                    prepare = System.nanoTime() - t0;
                    GenerationResult r = first(other, next);
                    viaSnapshot = System.nanoTime() - t0;
                    if (outcome.source() != ResumeOutcome.Source.SNAPSHOT || r.reusedPromptTokens() != outcome.positions()) {
                        throw new IllegalStateException("the snapshot was not used: " + outcome);
                    }
                }
                System.out.printf(Locale.ROOT, "%8d %10.0f %12.0f %10.0f %7.1fx %12d %9.1fms %12d %9.1fms %8.0fms%n", h, full / 1e6,
                        viaSnapshot / 1e6, prepare / 1e6, (double) full / viaSnapshot, bytes0, publish0 / 1e6, bytes64, publish64 / 1e6, gen64 / 1e6);
            }
        }
    }

    private static IpfsKvSnapshotExchange exchange(InferenceEngine e, IpfsNodeProcess ipfs, SnapshotProperties settings, SimpleMeterRegistry meters) {
        return IpfsKvSnapshotExchange.create(e, List.of(ipfs.apiUrl()), SessionFixture.ORACLE::signDigest, SessionFixture.ORACLES::contains,
                settings, meters, Clock.systemUTC());
    }

    private static GenerationResult first(InferenceEngine e, int[] prompt) {
        return e.submit(SequenceRequest.of(GenerationRequest.greedy("", 1)).withPromptTokens(prompt).withIgnoreEos(true)).result().join();
    }

    private static String hex(byte[] cid) {
        return "0x" + HexFormat.of().formatHex(cid);
    }

    private static int[] concat(int[] a, int[] b) {
        return SessionFixture.concat(a, b);
    }

    private static int[] tokens(int n, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = 3 + r.nextInt(vocab - 3);
        return t;
    }
}
