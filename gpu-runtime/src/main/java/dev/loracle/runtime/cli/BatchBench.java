package dev.loracle.runtime.cli;

import dev.loracle.runtime.engine.AdapterWeight;
import dev.loracle.runtime.engine.AttachMode;
import dev.loracle.runtime.engine.GenerationRequest;
import dev.loracle.runtime.engine.GenerationResult;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.engine.ResidentAdapter;
import dev.loracle.runtime.engine.SequenceRequest;
import dev.loracle.runtime.lora.PeftAdapter;
import dev.loracle.runtime.lora.ProjectionKind;
import dev.loracle.runtime.tensor.BandwidthProbe;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The multi-tenant figures of {@code bench}: aggregate decode rate of N concurrent sequences on the base, with N
 * distinct adapter sets (ranks 8/16/32/64, 1 to 4 adapters a set) and with one shared set in each mode, and the
 * prefill rate of one long prompt. All in one run, so the ratios compare like with like on a loaded machine.
 */
final class BatchBench {
    private static final int[] RANKS = {8, 16, 32, 64};
    private static final EnumSet<ProjectionKind> QKVO = EnumSet.of(ProjectionKind.Q, ProjectionKind.K, ProjectionKind.V, ProjectionKind.O);

    private static final int ROUNDS = 3;

    private record Config(int n, java.util.function.IntFunction<List<AdapterWeight>> sets, AttachMode mode) {}

    private final InferenceEngine engine;
    private final PrintWriter out;

    BatchBench(InferenceEngine engine, PrintWriter out) {
        this.engine = engine;
        this.out = out;
    }

    void run(int batch, boolean distinctAdapters, int promptTokens, int decodeTokens, Map<String, Double> figures) {
        List<ResidentAdapter> loaded = new ArrayList<>();
        try {
            List<List<AdapterWeight>> sets = new ArrayList<>();
            for (int i = 0; i < batch && distinctAdapters; i++) {
                List<AdapterWeight> set = new ArrayList<>();
                for (int m = 0, k = 1 + i % 4; m < k; m++) {
                    int rank = RANKS[(i + m) % RANKS.length];
                    ResidentAdapter a = engine.adapters().load(PeftAdapter.randomForShape(engine.shape(), rank, 2f * rank, QKVO, 9000 + 10L * i + m)
                            .toLoraAdapter("bench-set-" + i + "-" + m));
                    loaded.add(a);
                    set.add(new AdapterWeight(a, 1f / k));
                }
                sets.add(set);
            }
            List<AdapterWeight> shared = distinctAdapters ? sets.get(Math.min(3, batch - 1)) : List.of();
            // every configuration once per round, rounds interleaved, medians: the ratios compare like with like on a
            // machine whose load changes from minute to minute
            Map<String, Config> configs = new LinkedHashMap<>();
            configs.put("decode_tok_s_batch1_interleaved", new Config(1, i -> List.of(), AttachMode.UNMERGED));
            configs.put("decode_tok_s_aggregate_base", new Config(batch, i -> List.of(), AttachMode.UNMERGED));
            if (distinctAdapters) {
                configs.put("decode_tok_s_aggregate", new Config(batch, sets::get, AttachMode.UNMERGED));
                configs.put("decode_tok_s_aggregate_shared_unmerged", new Config(batch, i -> shared, AttachMode.UNMERGED));
                configs.put("decode_tok_s_aggregate_shared_merged", new Config(batch, i -> shared, AttachMode.MERGED));
            }
            for (Config c : configs.values()) aggregate(c.n, Math.min(8, decodeTokens), c.sets, c.mode); // warm-up
            Map<String, double[]> rates = new LinkedHashMap<>(), perCpu = new LinkedHashMap<>();
            for (int r = 0; r < ROUNDS; r++) {
                for (Map.Entry<String, Config> e : configs.entrySet()) {
                    Config c = e.getValue();
                    long cpu0 = BandwidthProbe.processCpuNanos();
                    double rate = aggregate(c.n, decodeTokens, c.sets, c.mode);
                    double seconds = rate > 0 ? c.n * (double) decodeTokens / rate : 0;
                    rates.computeIfAbsent(e.getKey(), k -> new double[ROUNDS])[r] = rate;
                    // tokens per process CPU-second: robust to other processes taking the cores
                    perCpu.computeIfAbsent(e.getKey(), k -> new double[ROUNDS])[r] =
                            rate * seconds / Math.max(1e-3, (BandwidthProbe.processCpuNanos() - cpu0) / 1e9);
                }
            }
            rates.forEach((k, v) -> figures.put(k, median(v)));
            perCpu.forEach((k, v) -> figures.put(k + "_per_cpu_s", median(v)));
            if (!distinctAdapters) figures.put("decode_tok_s_aggregate", figures.get("decode_tok_s_aggregate_base"));
        } finally {
            loaded.forEach(ResidentAdapter::close);
        }
        double one = figures.get("decode_tok_s_batch1_interleaved"), base = figures.get("decode_tok_s_aggregate_base");
        figures.put("aggregate_vs_batch1", base / one);
        figures.put("aggregate_vs_batch1_cpu", figures.get("decode_tok_s_aggregate_base_per_cpu_s") / figures.get("decode_tok_s_batch1_interleaved_per_cpu_s"));
        out.printf(Locale.ROOT, "batch %d: aggregate decode %.1f tok/s on the base vs %.1f tok/s at batch 1 (%.2fx; %.2fx per process CPU-second)%n",
                batch, base, one, base / one, figures.get("aggregate_vs_batch1_cpu"));
        if (distinctAdapters) {
            double distinct = figures.get("decode_tok_s_aggregate");
            double u = figures.get("decode_tok_s_aggregate_shared_unmerged"), m = figures.get("decode_tok_s_aggregate_shared_merged");
            figures.put("distinct_vs_base", distinct / base);
            figures.put("shared_merged_vs_unmerged", m / u);
            out.printf(Locale.ROOT, "batch %d: %d distinct adapter sets %.1f tok/s (%.2fx of base); one shared set UNMERGED %.1f, MERGED %.1f tok/s (%.2fx)%n",
                    batch, batch, distinct, distinct / base, u, m, m / u);
        }
        if (promptTokens + 1 > engine.contextLength()) {
            out.printf(Locale.ROOT, "prefill: %d prompt tokens do not fit the context of %d; measuring %d%n", promptTokens,
                    engine.contextLength(), engine.contextLength() - 1);
            promptTokens = engine.contextLength() - 1;
        }
        double prefill = prefill(promptTokens);
        prefill(promptTokens);
        prefill = Math.max(prefill, prefill(promptTokens));
        figures.put("prefill_tok_s", prefill);
        out.printf(Locale.ROOT, "prefill of %d tokens: %.1f tok/s%n", promptTokens, prefill);
        out.flush();
    }

    private static double median(double[] v) {
        double[] c = v.clone();
        java.util.Arrays.sort(c);
        return c[c.length / 2];
    }

    /** N sequences of 4 prompt tokens and {@code decode} tokens each, submitted together: generated tokens per second. */
    private double aggregate(int n, int decode, java.util.function.IntFunction<List<AdapterWeight>> sets, AttachMode mode) {
        List<CompletableFuture<GenerationResult>> results = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            SequenceRequest req = SequenceRequest.of(GenerationRequest.greedy("", decode)).withPromptTokens(prompt(4, i))
                    .withAdapters(sets.apply(i)).withMode(mode).withIgnoreEos(true);
            results.add(engine.submit(req).result());
        }
        long tokens = 0;
        for (CompletableFuture<GenerationResult> f : results) tokens += f.join().tokens().length;
        return tokens * 1e9 / (System.nanoTime() - t0);
    }

    private double prefill(int p) {
        GenerationResult r = engine.submit(SequenceRequest.of(GenerationRequest.greedy("", 1)).withPromptTokens(prompt(p, 0)).withIgnoreEos(true))
                .result().join();
        return p * 1e9 / Math.max(1, r.prefillNanos());
    }

    private int[] prompt(int n, int salt) {
        int vocab = engine.shape().vocabSize();
        int[] t = new int[n];
        t[0] = 1;
        for (int i = 1; i < n; i++) t[i] = 3 + (i * 7919 + salt * 104729) % (vocab - 3);
        return t;
    }
}
