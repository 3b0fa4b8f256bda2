package dev.loracle.runtime.cuda;

import dev.loracle.runtime.engine.AdapterWeight;
import dev.loracle.runtime.engine.AttachMode;
import dev.loracle.runtime.engine.BackendKind;
import dev.loracle.runtime.engine.EngineConfig;
import dev.loracle.runtime.engine.GenerationRequest;
import dev.loracle.runtime.engine.GenerationResult;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.engine.ResidentAdapter;
import dev.loracle.runtime.engine.SequenceRequest;
import dev.loracle.runtime.engine.TensorId;
import dev.loracle.runtime.engine.WeightOverlay;
import dev.loracle.runtime.lora.LoraAdapter;
import dev.loracle.runtime.lora.LoraMath.WeightedTarget;
import dev.loracle.runtime.lora.LoraTarget;
import dev.loracle.runtime.lora.PeftAdapter;
import dev.loracle.runtime.lora.ProjectionKind;
import dev.loracle.runtime.model.LoadedModel;
import dev.loracle.runtime.model.ModelConfig;
import dev.loracle.runtime.model.RandomModel;
import dev.loracle.runtime.model.WeightFormat;
import dev.loracle.runtime.tensor.ParallelRunner;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The CUDA bench of gpu-check (a GPU machine; prints one line per figure and writes them all as JSON):
 * the device's copy roofline from a copy kernel in the same run, then per random shape and quantization, decode
 * through the engine's real path (scheduler, paged KV, on-host sampling as the engine does it, greedy): batch 1 base,
 * batch 1 UNMERGED with 4 rank-16 adapters (q,k,v,o), batch 64 base, batch 64 with 64 distinct adapter sets (1-4
 * members from 16 resident adapters of ranks 8/16/32/64 on q,k,v,o); MERGED attach/detach of 4 x r16 (q,k,v,o) timed; attach/detach cycles (up to
 * {@code --cycles}, capped by {@code --cycle-seconds}) with the accounted memory, cuMemGetInfo and nvidia-smi VRAM
 * compared before/after. Figures are ratios against the same run's base and roofline, never against another machine.
 * Usage: CudaBench [--shapes 110m,1b] [--quants q8_0,q4_0] [--decode 64] [--cycles 10000] [--cycle-seconds 25] [--json FILE]
 */
public final class CudaBench {
    private final Map<String, Object> figures = new LinkedHashMap<>();
    private final int decode;
    private final java.util.function.BiFunction<EngineConfig, LoadedModel, InferenceEngine> engines;

    CudaBench(int decode, java.util.function.BiFunction<EngineConfig, LoadedModel, InferenceEngine> engines) {
        this.decode = decode;
        this.engines = engines;
    }

    Map<String, Object> figures() { return figures; }

    public static void main(String[] args) throws Exception {
        Map<String, String> o = new TreeMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) o.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        CudaBench b = new CudaBench(Integer.parseInt(o.getOrDefault("decode", "64")),
                (cfg, m) -> InferenceEngine.create(cfg, m, null));
        long started = System.nanoTime();
        try {
            b.roofline();
        } catch (RuntimeException | Error e) {
            b.put("roofline_error", e.toString());
            System.out.println("BENCH FAILED roofline: " + e);
        }
        for (String shape : o.getOrDefault("shapes", "110m,1b").split(",")) {
            for (String quant : o.getOrDefault("quants", "q8_0,q4_0").split(",")) {
                int cycles = quant.equals(o.getOrDefault("quants", "q8_0,q4_0").split(",")[0])
                        ? Integer.parseInt(o.getOrDefault("cycles", "10000")) : 0;
                try {
                    b.shape(shape, quant, cycles, Double.parseDouble(o.getOrDefault("cycle-seconds", "25")));
                } catch (RuntimeException | Error e) {
                    b.put(shape + "_" + quant + "_error", e.toString());
                    System.out.println("BENCH FAILED " + shape + " " + quant + ": " + e);
                    e.printStackTrace(System.out);
                }
            }
        }
        b.put("bench_seconds", (System.nanoTime() - started) / 1e9);
        String json = b.json();
        System.out.println("JSON " + json);
        if (o.containsKey("json")) Files.writeString(Path.of(o.get("json")), json + "\n", StandardCharsets.UTF_8);
    }

    private void put(String k, Object v) {
        figures.put(k, v);
        System.out.printf(Locale.ROOT, "  %-48s %s%n", k, v instanceof Double d ? String.format(Locale.ROOT, "%.3f", d) : v);
    }

    /** Device copy bandwidth (read + write bytes / s) of the copy kernel over 2 x 2 GiB, best of 10. */
    private void roofline() {
        try (CudaDevice dev = CudaDevice.open(0); PtxModules modules = new PtxModules(dev)) {
            put("device", dev.toString());
            put("driver_cuda", CudaProbe.probe().driverVersionText());
            long bytes = 2L << 30;
            DevicePtr a = dev.allocate(bytes), c = dev.allocate(bytes);
            try {
                dev.memsetZero(a, bytes);
                BatchKernels k = new BatchKernels(modules);
                int blocks = dev.multiprocessors() * 8;
                dev.makeCurrent();
                k.copyWords(c, a, bytes / 16, blocks);   // warm-up (JIT, clocks)
                double best = Double.MAX_VALUE;
                for (int i = 0; i < 10; i++) best = Math.min(best, dev.timeMillis(() -> k.copyWords(c, a, bytes / 16, blocks)));
                put("roofline_copy_GBps", 2.0 * bytes / (best / 1e3) / 1e9);
                figures.put("roofline_bytes_per_s", 2.0 * bytes / (best / 1e3));
            } finally {
                dev.free(a);
                dev.free(c);
            }
        }
    }

    void shape(String shape, String quant, int cycles, double cycleSeconds) throws Exception {
        String p = shape + "_" + quant + "_";
        System.out.println("== " + shape + " " + quant);
        ModelConfig c = RandomModel.parseShape(shape);
        WeightFormat format = WeightFormat.parse(quant);
        try (Arena arena = Arena.ofShared()) {
            LoadedModel m;
            long t0 = System.nanoTime();
            try (ParallelRunner pool = new ParallelRunner(Runtime.getRuntime().availableProcessors())) {
                m = RandomModel.create(c, format, 42, arena, pool);
            }
            long weightBytes = m.weights().layers().stream().mapToLong(l -> {
                long s = 0;
                for (ProjectionKind k : ProjectionKind.values()) s += l.projection(k).byteSize();
                return s;
            }).sum() + m.weights().classifier().byteSize();
            put(p + "weight_MiB_per_token", weightBytes / 1048576.0);
            EngineConfig cfg = EngineConfig.of(Path.of("random:" + shape)).withQuant(format).withBackend(BackendKind.CUDA)
                    .withStepTokens(256).withMaxRunning(64);
            try (InferenceEngine e = engines.apply(cfg, m)) {
                put(p + "load_s", (System.nanoTime() - t0) / 1e9);
                put(p + "backend", e.backendDescription());
                double roof = (Double) figures.getOrDefault("roofline_bytes_per_s", 0.0);
                double base1 = decodeRate(e, List.of(), 1);
                put(p + "decode_tok_s_batch1", base1);
                put(p + "cuda_graphs_after_batch1", ((CudaBackend) e.backend()).graphStats());
                if (roof > 0) put(p + "roofline_fraction_batch1", base1 * weightBytes / roof);
                List<ResidentAdapter> four = new ArrayList<>();
                for (int i = 0; i < 4; i++) four.add(e.adapters().load(adapter(e, 16, EnumSet.of(ProjectionKind.Q, ProjectionKind.K, ProjectionKind.V, ProjectionKind.O), 11 + i)));
                List<AdapterWeight> set4 = four.stream().map(a -> new AdapterWeight(a, 0.5f)).toList();
                double unmerged1 = decodeRate(e, List.of(set4), 1);
                put(p + "decode_tok_s_batch1_unmerged_4xr16", unmerged1);
                put(p + "unmerged_4xr16_time_vs_base", base1 / unmerged1);
                double base64 = decodeRate(e, List.of(), 64);
                put(p + "decode_tok_s_aggregate_base_batch64", base64);
                // 64 distinct sets of 1-4 members drawn from 16 resident adapters (ranks 8/16/32/64 on q,k,v,o)
                List<ResidentAdapter> distinct = new ArrayList<>();
                int[] ranks = {8, 16, 32, 64};
                for (int i = 0; i < 16; i++) {
                    distinct.add(e.adapters().load(adapter(e, ranks[i % 4], EnumSet.of(ProjectionKind.Q, ProjectionKind.K,
                            ProjectionKind.V, ProjectionKind.O), 1000 + i)));
                }
                List<List<AdapterWeight>> sets = new ArrayList<>();
                for (int i = 0; i < 64; i++) {
                    List<AdapterWeight> set = new ArrayList<>();
                    for (int j = 0; j <= i % 4; j++) set.add(new AdapterWeight(distinct.get((i + 5 * j + i / 4) % 16), 0.3f + 0.1f * j));
                    sets.add(set);
                }
                double mixed64 = decodeRate(e, sets, 64);
                put(p + "decode_tok_s_aggregate_batch64_distinct_sets", mixed64);
                put(p + "distinct_sets_vs_base_batch64", mixed64 / base64);
                put(p + "cuda_graphs_after_batch64", ((CudaBackend) e.backend()).graphStats());
                distinct.forEach(ResidentAdapter::close);
                mergedAttach(e, four, p, cycles, cycleSeconds);
                four.forEach(ResidentAdapter::close);
                put(p + "memory_back_to_base", e.memory().used() == e.memory().baseBytes());
            }
        }
    }

    private static LoraAdapter adapter(InferenceEngine e, int rank, EnumSet<ProjectionKind> kinds, long seed) {
        return PeftAdapter.randomForShape(e.shape(), rank, 2f * rank, kinds, seed).toLoraAdapter("bench-" + seed);
    }

    /**
     * Aggregate decode tok/s of {@code batch} concurrent greedy sequences (set i % sets.size(), or base), timed from
     * the moment every sequence has its first token to the end (prefill excluded), through engine.submit.
     */
    private double decodeRate(InferenceEngine e, List<List<AdapterWeight>> sets, int batch) throws Exception {
        for (int warm = 0; warm < 2; warm++) {
            List<CompletableFuture<GenerationResult>> fs = new ArrayList<>();
            for (int i = 0; i < batch; i++) {
                List<AdapterWeight> set = sets.isEmpty() ? List.of() : sets.get(i % sets.size());
                GenerationRequest g = new GenerationRequest("", warm == 0 ? 4 : decode, 0f, 1f, i);
                fs.add(e.submit(SequenceRequest.of(g).withPromptTokens(new int[] {1, 100 + i, 200 + i, 300 + i})
                        .withAdapters(set).withMode(AttachMode.UNMERGED).withIgnoreEos(true)).result());
            }
            long tokens = 0, decodeNanos = 0;
            for (CompletableFuture<GenerationResult> f : fs) {
                GenerationResult r = f.get(600, TimeUnit.SECONDS);
                tokens += r.tokens().length;
                decodeNanos = Math.max(decodeNanos, r.decodeNanos());
            }
            if (warm == 1) return tokens * 1e9 / decodeNanos;
        }
        throw new IllegalStateException("unreachable");
    }

    /** MERGED attach (one fused kernel per tensor, one sync) and detach of the four r16 adapters, then the cycles. */
    private void mergedAttach(InferenceEngine e, List<ResidentAdapter> four, String p, int cycles, double seconds) throws Exception {
        Map<TensorId, List<WeightedTarget>> deltas = new LinkedHashMap<>();
        for (ResidentAdapter a : four) {
            for (LoraTarget t : a.adapter().targets()) {
                deltas.computeIfAbsent(new TensorId(t.layer(), t.kind()), k -> new ArrayList<>()).add(new WeightedTarget(t, 0.5f));
            }
        }
        var backend = e.backend();
        backend.release(backend.mergeInto(deltas, "warm-up"));
        long used0 = e.memory().used();
        long free0 = ((CudaBackend) backend).deviceMemoryInfo()[0];
        String smi0 = nvidiaSmiUsed();
        double attach = 0, detach = 0;
        int n = 20;
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            WeightOverlay o = backend.mergeInto(deltas, "bench-" + i);
            long t1 = System.nanoTime();
            backend.release(o);
            long t2 = System.nanoTime();
            attach += (t1 - t0) / 1e6;
            detach += (t2 - t1) / 1e6;
        }
        put(p + "merged_attach_ms_4xr16_qkvo", attach / n);
        put(p + "merged_detach_ms", detach / n);
        if (cycles <= 0) return;
        long deadline = System.nanoTime() + (long) (seconds * 1e9);
        int done = 0;
        for (; done < cycles && System.nanoTime() < deadline; done++) {
            backend.release(backend.mergeInto(deltas, "cycle-" + done));
            if (e.memory().used() != used0) throw new IllegalStateException("accounted memory moved after cycle " + done);
        }
        put(p + "attach_detach_cycles", done);
        put(p + "cycles_accounted_bytes_unchanged", e.memory().used() == used0);
        put(p + "cycles_cuMemGetInfo_free_delta_bytes", ((CudaBackend) backend).deviceMemoryInfo()[0] - free0);
        put(p + "cycles_nvidia_smi_used_before_after", smi0 + " -> " + nvidiaSmiUsed());
    }

    private static String nvidiaSmiUsed() {
        try {
            Process pr = new ProcessBuilder("nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader").redirectErrorStream(true).start();
            String s = new String(pr.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            pr.waitFor(20, TimeUnit.SECONDS);
            return s;
        } catch (IOException e) {
            return "nvidia-smi unavailable";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    private String json() {
        StringBuilder sb = new StringBuilder("{");
        for (var e : figures.entrySet()) {
            if (sb.length() > 1) sb.append(',');
            sb.append('"').append(e.getKey()).append("\":");
            Object v = e.getValue();
            if (v instanceof Number || v instanceof Boolean) sb.append(v);
            else sb.append('"').append(v.toString().replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ")).append('"');
        }
        return sb.append('}').toString();
    }
}
