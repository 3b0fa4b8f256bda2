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
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.EnumSet;
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

    private final InferenceEngine engine;
    private final PrintWriter out;

    BatchBench(InferenceEngine engine, PrintWriter out) {
        this.engine = engine;
        this.out = out;
    }

    void run(int batch, boolean distinctAdapters, int promptTokens, int decodeTokens, Map<String, Double> figures) {
        aggregate(batch, decodeTokens, i -> List.of(), AttachMode.UNMERGED); // warm-up
        // batch 1 and batch N interleaved, medians of three: the ratio compares like with like on a loaded machine
        double[] one = new double[3], many = new double[3];
        for (int r = 0; r < 3; r++) {
            one[r] = aggregate(1, decodeTokens, i -> List.of(), AttachMode.UNMERGED);
            many[r] = aggregate(batch, decodeTokens, i -> List.of(), AttachMode.UNMERGED);
        }
        double base = median(many);
        figures.put("decode_tok_s_batch1_interleaved", median(one));
        figures.put("aggregate_vs_batch1", base / median(one));
        figures.put("decode_tok_s_aggregate_base", base);
        double aggregate = base;
        List<ResidentAdapter> loaded = new ArrayList<>();
        try {
            if (distinctAdapters) {
                List<List<AdapterWeight>> sets = new ArrayList<>();
                for (int i = 0; i < batch; i++) {
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
                aggregate(batch, Math.min(8, decodeTokens), sets::get, AttachMode.UNMERGED); // warm-up of the adapter paths
                aggregate = aggregate(batch, decodeTokens, sets::get, AttachMode.UNMERGED);
                figures.put("distinct_vs_base", aggregate / base);
                // one set shared by every sequence: MERGED (one shared copy) against UNMERGED
                List<AdapterWeight> shared = sets.get(Math.min(3, batch - 1));
                double sharedUnmerged = aggregate(batch, decodeTokens, i -> shared, AttachMode.UNMERGED);
                aggregate(batch, Math.min(8, decodeTokens), i -> shared, AttachMode.MERGED);
                double sharedMerged = aggregate(batch, decodeTokens, i -> shared, AttachMode.MERGED);
                figures.put("decode_tok_s_aggregate_shared_unmerged", sharedUnmerged);
                figures.put("decode_tok_s_aggregate_shared_merged", sharedMerged);
                out.printf(Locale.ROOT, "batch %d, one shared set of %d adapters: UNMERGED %.1f tok/s, MERGED %.1f tok/s (%.2fx)%n",
                        batch, shared.size(), sharedUnmerged, sharedMerged, sharedMerged / sharedUnmerged);
            }
        } finally {
            loaded.forEach(ResidentAdapter::close);
        }
        figures.put("decode_tok_s_aggregate", aggregate);
        out.printf(Locale.ROOT, "batch %d: aggregate decode %.1f tok/s on the base%s; batch 1 %.1f tok/s interleaved (aggregate %.2fx of batch 1)%n",
                batch, base, distinctAdapters ? String.format(Locale.ROOT, ", %.1f tok/s with %d distinct adapter sets (%.2fx of base)",
                        aggregate, batch, aggregate / base) : "",
                median(one), base / median(one));
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
