package dev.loracle.runtime.cli;

import dev.loracle.runtime.engine.AttachMode;
import dev.loracle.runtime.engine.BackendKind;
import dev.loracle.runtime.engine.EngineConfig;
import dev.loracle.runtime.engine.GenerationRequest;
import dev.loracle.runtime.engine.GenerationResult;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.engine.SequenceRequest;
import dev.loracle.runtime.model.LoadedModel;
import dev.loracle.runtime.model.ModelConfig;
import dev.loracle.runtime.model.RandomModel;
import dev.loracle.runtime.session.KvSnapshot;
import dev.loracle.runtime.session.KvSnapshots;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Time to first token of turn k+1 on a node that did not serve turn k: resuming from the KV snapshot the serving node
 * captured (decode, checks, import, spot check, prefill of the new tokens only) against recomputing the whole
 * history, in the same run on the same random-weight model; plus snapshot bytes and the serving node's capture time.
 */
@Command(name = "bench-sessions", mixinStandardHelpOptions = true,
        description = "TTFT of a session's next turn on another node: via KV snapshot vs full recompute")
final class SessionBenchCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--random-shape", defaultValue = "768,2048,12,12,12,32000,4096",
            description = "random-weight model (default: the 110M shape with a 4096 context)")
    String shape;

    @Mixin
    EngineOptions engineOptions;

    @Option(names = "--histories", split = ",", defaultValue = "256,1024,2048")
    int[] histories;

    @Option(names = "--turn-tokens", defaultValue = "32", description = "new tokens of turn k+1")
    int turnTokens;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        ModelConfig c = RandomModel.parseShape(shape);
        try (Arena arena = Arena.ofShared()) {
            LoadedModel m = engineOptions.randomModel(c, arena);
            EngineConfig cfg = engineOptions.applyTo(EngineConfig.of(Path.of("random:" + shape))).withBackend(BackendKind.CPU).withPrefixCache(true).withStepTokens(512);
            out.printf(Locale.ROOT, "model %s, %s, KV %s, %d threads, turn k+1 adds %d tokens%n", shape,
                    engineOptions.format(), engineOptions.kv, engineOptions.threads(), turnTokens);
            out.printf(Locale.ROOT, "%8s %12s %12s %8s %14s %12s %12s%n", "history", "full ms", "snapshot ms", "ratio",
                    "snapshot B", "B/turn(64)", "capture ms");
            KvSnapshots.AdapterSet base = new KvSnapshots.AdapterSet(List.of(), AttachMode.UNMERGED, "base");
            for (int h : histories) {
                int[] history = tokens(h, c.vocabSize(), h);
                int[] next = Arrays.copyOf(history, h + turnTokens);
                System.arraycopy(tokens(turnTokens, c.vocabSize(), -h), 0, next, h, turnTokens);
                byte[] snapshot;
                long captureNanos;
                try (InferenceEngine served = InferenceEngine.create(cfg, m, (Arena) null)) {   // the node that served turn k
                    first(served, history);
                    long t0 = System.nanoTime();
                    snapshot = new KvSnapshots(served, 1e-3f).capture("", history, 0, base).orElseThrow().encode();
                    captureNanos = System.nanoTime() - t0;
                }
                long fullNanos, snapNanos;
                try (InferenceEngine other = InferenceEngine.create(cfg, m, (Arena) null)) {
                    long t0 = System.nanoTime();
                    first(other, next);
                    fullNanos = System.nanoTime() - t0;
                }
                try (InferenceEngine other = InferenceEngine.create(cfg, m, (Arena) null)) {
                    long t0 = System.nanoTime();
                    KvSnapshot s = KvSnapshot.decode(snapshot, Integer.MAX_VALUE);
                    new KvSnapshots(other, 1e-3f).resume(List.of(s), next, base, x -> {});
                    GenerationResult r = first(other, next);
                    snapNanos = System.nanoTime() - t0;
                    if (r.reusedPromptTokens() != s.to()) throw new IllegalStateException("the snapshot was not used");
                }
                long perTurn = snapshot.length / (h / 16) * 4L;
                out.printf(Locale.ROOT, "%8d %12.0f %12.0f %7.1fx %14d %12d %12.1f%n", h, fullNanos / 1e6, snapNanos / 1e6,
                        (double) fullNanos / snapNanos, snapshot.length, perTurn, captureNanos / 1e6);
                out.flush();
            }
        }
        return 0;
    }

    private static GenerationResult first(InferenceEngine e, int[] prompt) {
        return e.submit(SequenceRequest.of(GenerationRequest.greedy("", 1)).withPromptTokens(prompt).withIgnoreEos(true)).result().join();
    }

    private static int[] tokens(int n, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = 3 + r.nextInt(vocab - 3);
        return t;
    }
}
