package dev.loracle.runtime.cli;

import dev.loracle.runtime.engine.AttachMode;
import dev.loracle.runtime.engine.Attachment;
import dev.loracle.runtime.engine.Backend;
import dev.loracle.runtime.engine.CpuBackend;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.engine.GenerationRequest;
import dev.loracle.runtime.engine.GenerationResult;
import dev.loracle.runtime.engine.SequenceRequest;
import dev.loracle.runtime.lora.LoraAdapter;
import dev.loracle.runtime.lora.PeftAdapter;
import dev.loracle.runtime.lora.ProjectionKind;
import dev.loracle.runtime.lora.WeightedAdapter;
import dev.loracle.runtime.tensor.BandwidthProbe;
import dev.loracle.runtime.tensor.MatVec;
import dev.loracle.runtime.tensor.ParallelRunner;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The measurements behind {@code loracle-runtime bench}: read bandwidth, prefill and decode rates, roofline fraction,
 * adapter attach/detach latencies in both modes and the UNMERGED decode slowdown, all in one run on one machine.
 */
public final class RuntimeBench {
    public record Settings(int prefillTokens, int decodeTokens, int adapters, int rank, long bandwidthBytes, boolean bothDotModes) {}

    private final InferenceEngine engine;
    private final Settings s;
    private final PrintWriter out;
    private final Map<String, Double> figures = new LinkedHashMap<>();
    private double bwCpu;
    /** Weight bytes per process CPU-second in the last decode run. */
    private double lastDecodeCpuRate;
    /** Process CPU ns per decoded token in the last decode run. */
    private double lastCpuPerToken;

    public RuntimeBench(InferenceEngine engine, Settings settings, PrintWriter out) {
        this.engine = engine;
        this.s = settings;
        this.out = out;
    }

    public Map<String, Double> run() {
        Backend b = engine.backend();
        long bytesPerToken = engine.weights().bytesReadPerToken();
        out.printf(Locale.ROOT, "model: %s%n", engine.modelDescription());
        out.printf(Locale.ROOT, "backend: %s%n", engine.backendDescription());
        out.printf(Locale.ROOT, "weights: %.1f MiB resident, %.1f MiB read per token%n", engine.weights().byteSize() / 1048576.0, bytesPerToken / 1048576.0);

        int threads = b instanceof CpuBackend cb ? cb.threads() : 1;
        double bw;
        try (ParallelRunner pool = new ParallelRunner(threads)) {
            BandwidthProbe.Rate rate = BandwidthProbe.measure(pool, s.bandwidthBytes, 5);
            bw = rate.wallBytesPerSecond();
            bwCpu = rate.cpuBytesPerSecond();
            double bwModel = BandwidthProbe.readBytesPerSecond(pool, Math.max(1 << 20, bytesPerToken), 5);
            out.printf(Locale.ROOT, "read bandwidth (%d threads): %.2f GB/s over a %d MiB buffer (DRAM); %.2f GB/s over a model-sized buffer%n",
                    threads, bw / 1e9, s.bandwidthBytes >> 20, bwModel / 1e9);
            figures.put("bandwidth_gbs", bw / 1e9);
            figures.put("bandwidth_per_cpu_second_gbs", bwCpu / 1e9);
            figures.put("bandwidth_model_sized_gbs", bwModel / 1e9);
        }

        // warm up the JIT on the kernels before timing anything
        decodeRun(null, Math.min(8, s.prefillTokens), 32);

        List<MatVec.DotMode> modes = new ArrayList<>();
        if (s.bothDotModes && b instanceof CpuBackend) modes.addAll(Arrays.asList(MatVec.DotMode.values()));
        else modes.add(b instanceof CpuBackend cb ? cb.dotMode() : MatVec.DotMode.DEFAULT);
        double baseDecode = 0;
        MatVec.DotMode best = modes.getFirst();
        for (MatVec.DotMode m : modes) {
            if (b instanceof CpuBackend cb) cb.setDotMode(m);
            if (modes.size() > 1) decodeRun(null, 4, 8);
            double[] r = medianRun(null, s.prefillTokens, s.decodeTokens);
            double roof = bytesPerToken * r[1] / bw;
            double roofCpu = lastDecodeCpuRate / bwCpu;
            out.printf(Locale.ROOT, "[%s dots] prefill %.1f tok/s (%d tokens), decode %.1f tok/s (%d tokens), roofline fraction %.2f"
                            + " (per process CPU-second: %.2f)%n",
                    m.name().toLowerCase(Locale.ROOT), r[0], s.prefillTokens, r[1], s.decodeTokens, roof, roofCpu);
            figures.put("roofline_cpu_" + m.name().toLowerCase(Locale.ROOT), roofCpu);
            figures.put("prefill_tps_" + m.name().toLowerCase(Locale.ROOT), r[0]);
            figures.put("decode_tps_" + m.name().toLowerCase(Locale.ROOT), r[1]);
            figures.put("roofline_" + m.name().toLowerCase(Locale.ROOT), roof);
            if (r[1] > baseDecode) {
                baseDecode = r[1];
                best = m;
            }
        }
        if (b instanceof CpuBackend cb) cb.setDotMode(best);
        medianRun(null, 4, s.decodeTokens); // base CPU cost per token with the chosen dot mode
        double baseCpuPerToken = lastCpuPerToken;
        figures.put("decode_tps", baseDecode);
        figures.put("roofline", bytesPerToken * baseDecode / bw);

        List<WeightedAdapter> adapters = new ArrayList<>();
        EnumSet<ProjectionKind> qkvo = EnumSet.of(ProjectionKind.Q, ProjectionKind.K, ProjectionKind.V, ProjectionKind.O);
        for (int i = 0; i < s.adapters; i++) {
            LoraAdapter a = PeftAdapter.randomForShape(engine.shape(), s.rank, 2f * s.rank, qkvo, 1000 + i).toLoraAdapter("bench-" + i);
            adapters.add(new WeightedAdapter(a, 1f / s.adapters));
        }
        for (AttachMode mode : AttachMode.values()) {
            long[] attach = new long[4], detach = new long[4], attachCpu = new long[4];
            for (int i = 0; i < attach.length; i++) { // first round warms up
                long t0 = System.nanoTime(), c0 = BandwidthProbe.processCpuNanos();
                Attachment a = engine.attach(adapters, mode);
                long t1 = System.nanoTime();
                attachCpu[i] = BandwidthProbe.processCpuNanos() - c0;
                engine.detach(a);
                attach[i] = t1 - t0;
                detach[i] = System.nanoTime() - t1;
            }
            double attachMs = median(Arrays.copyOfRange(attach, 1, attach.length)) / 1e6;
            double detachMs = median(Arrays.copyOfRange(detach, 1, detach.length)) / 1e6;
            double attachCpuMs = median(Arrays.copyOfRange(attachCpu, 1, attachCpu.length)) / 1e6;
            figures.put("attach_cpu_ms_" + mode.name().toLowerCase(Locale.ROOT), attachCpuMs);
            Attachment a = engine.attach(adapters, mode);
            decodeRun(a, 4, 16); // JIT warm-up of the adapter paths, as for the base
            double[] r = medianRun(a, 4, s.decodeTokens);
            engine.detach(a);
            String m = mode.name().toLowerCase(Locale.ROOT);
            figures.put("attach_ms_" + m, attachMs);
            figures.put("detach_ms_" + m, detachMs);
            figures.put("decode_tps_" + m, r[1]);
            figures.put("decode_cpu_ms_per_token_" + m, lastCpuPerToken / 1e6);
            out.printf(Locale.ROOT, "%s: attach %d x rank-%d (q,k,v,o of %d layers) %.1f ms (%.1f CPU-ms), detach %.2f ms, decode %.1f tok/s"
                            + " (%.2fx of base; %.2f CPU-ms/token vs %.2f for the base)%n",
                    mode, s.adapters, s.rank, engine.shape().nLayers(), attachMs, attachCpuMs, detachMs, r[1], baseDecode / r[1],
                    lastCpuPerToken / 1e6, baseCpuPerToken / 1e6);
        }
        double fiveTokensMs = 5 * 1000.0 / baseDecode;
        figures.put("five_tokens_ms", fiveTokensMs);
        figures.put("five_tokens_cpu_ms", 5 * baseCpuPerToken / 1e6);
        figures.put("unmerged_slowdown", baseDecode / figures.get("decode_tps_unmerged"));
        figures.put("unmerged_slowdown_cpu", figures.get("decode_cpu_ms_per_token_unmerged") / (baseCpuPerToken / 1e6));
        double load = java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        figures.put("load_average", load);
        out.printf(Locale.ROOT, "machine: %d processors, load average %.1f during the run%n", Runtime.getRuntime().availableProcessors(), load);
        out.printf(Locale.ROOT, "summary: decode %.1f tok/s = %.2f of roofline; MERGED attach %.1f ms vs 5 tokens %.1f ms (ratio %.2f); UNMERGED decode slowdown %.2fx%n",
                baseDecode, figures.get("roofline"), figures.get("attach_ms_merged"), fiveTokensMs,
                figures.get("attach_ms_merged") / fiveTokensMs, figures.get("unmerged_slowdown"));
        out.printf(Locale.ROOT, "summary in process CPU time (robust to other load): roofline %.2f; MERGED attach %.1f CPU-ms vs 5 tokens %.1f CPU-ms"
                        + " (ratio %.2f); UNMERGED decode slowdown %.2fx%n",
                figures.get("roofline_cpu_" + best.name().toLowerCase(Locale.ROOT)), figures.get("attach_cpu_ms_merged"),
                figures.get("five_tokens_cpu_ms"), figures.get("attach_cpu_ms_merged") / figures.get("five_tokens_cpu_ms"),
                figures.get("unmerged_slowdown_cpu"));
        out.flush();
        return figures;
    }

    private static double median(long[] v) {
        long[] c = v.clone();
        Arrays.sort(c);
        return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2.0;
    }

    /** Timed runs per figure: the median run is reported, so one run disturbed by other load does not decide it. */
    private static final int RUNS = 3;

    /** {@link #decodeRun} {@value #RUNS} times; returns the run with the median decode rate (and keeps its CPU figures). */
    private double[] medianRun(Attachment attachment, int prefill, int decode) {
        double[][] runs = new double[RUNS][];
        double[] cpuRate = new double[RUNS], cpuPerToken = new double[RUNS];
        for (int i = 0; i < RUNS; i++) {
            runs[i] = decodeRun(attachment, prefill, decode);
            cpuRate[i] = lastDecodeCpuRate;
            cpuPerToken[i] = lastCpuPerToken;
        }
        Integer[] order = new Integer[RUNS];
        for (int i = 0; i < RUNS; i++) order[i] = i;
        Arrays.sort(order, (x, y) -> Double.compare(runs[x][1], runs[y][1]));
        int m = order[RUNS / 2];
        lastDecodeCpuRate = cpuRate[m];
        lastCpuPerToken = cpuPerToken[m];
        double[] prefills = new double[RUNS];
        for (int i = 0; i < RUNS; i++) prefills[i] = runs[i][0];
        Arrays.sort(prefills);
        return new double[] {prefills[RUNS / 2], runs[m][1]};
    }

    /** Feeds {@code prefill} tokens then decodes {@code decode} greedy tokens (EOS ignored); returns {prefill tok/s, decode tok/s}. */
    private double[] decodeRun(Attachment attachment, int prefill, int decode) {
        long cpu0 = BandwidthProbe.processCpuNanos();
        SequenceRequest req = SequenceRequest.of(GenerationRequest.greedy("", decode)).withPromptTokens(prompt(prefill)).withIgnoreEos(true);
        if (attachment != null) req = req.withAdapters(attachment.adapterSet()).withMode(attachment.mode());
        GenerationResult r = engine.submit(req).result().join();
        long cpu = BandwidthProbe.processCpuNanos() - cpu0;
        // CPU time is measured over the whole run; apportion it to decode by wall time
        double decodeShare = r.decodeNanos() / (double) Math.max(1, r.decodeNanos() + r.prefillNanos());
        int decoded = Math.max(1, r.tokens().length - 1);
        lastDecodeCpuRate = (double) engine.weights().bytesReadPerToken() * decoded / (Math.max(1, cpu * decodeShare) / 1e9);
        lastCpuPerToken = cpu * decodeShare / decoded;
        return new double[] {prefill * 1e9 / Math.max(1, r.prefillNanos()), decoded * 1e9 / Math.max(1, r.decodeNanos())};
    }

    private int[] prompt(int prefill) {
        int vocab = engine.shape().vocabSize();
        int[] prompt = new int[prefill];
        prompt[0] = 1;
        for (int i = 1; i < prefill; i++) prompt[i] = 3 + (i * 7919) % (vocab - 3);
        return prompt;
    }
}
