package dev.loracle.runtime.cli;

import dev.loracle.runtime.engine.BackendKind;
import dev.loracle.runtime.engine.EngineConfig;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.engine.KvCacheType;
import dev.loracle.runtime.model.LoadedModel;
import dev.loracle.runtime.model.ModelConfig;
import dev.loracle.runtime.model.RandomModel;
import dev.loracle.runtime.model.WeightFormat;
import dev.loracle.runtime.tensor.MatVec;
import dev.loracle.runtime.tensor.ParallelRunner;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure prefill/decode rates, roofline fraction and adapter attach/detach latencies.")
final class BenchCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "MODEL", description = "GGUF or llama2.c model (or use --random-shape)")
    Path model;

    @Option(names = "--random-shape", description = "random-weight model: 110m | 1b | 260k | dim,hidden,layers,heads,kvheads,vocab[,context]")
    String randomShape;

    @Option(names = "--quant", defaultValue = "q8_0", description = "f32 | q8_0 | q4_0 | q4_k | as_file (default ${DEFAULT-VALUE})")
    String quant;

    @Option(names = "--threads", description = "matmul threads (default: available processors)")
    Integer threads;

    @Option(names = "--backend", defaultValue = "auto", description = "auto | cpu | cuda (default ${DEFAULT-VALUE})")
    String backend;

    @Option(names = "--kv", defaultValue = "f32")
    String kv;

    @Option(names = "--dot", defaultValue = "both", description = "float | int8 | both (default ${DEFAULT-VALUE}): how quantized matmuls multiply")
    String dot;

    @Option(names = "--prefill", defaultValue = "32")
    int prefill;

    @Option(names = "--decode", defaultValue = "64")
    int decode;

    @Option(names = "--adapters", defaultValue = "4")
    int adapters;

    @Option(names = "--rank", defaultValue = "16")
    int rank;

    @Option(names = "--batch", defaultValue = "1", description = "concurrent sequences for the aggregate decode figures (default ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--distinct-adapters", description = "each of the --batch sequences gets its own adapter set (ranks 8/16/32/64, 1-4 adapters)")
    boolean distinctAdapters;

    @Option(names = "--prompt-tokens", defaultValue = "512", description = "prompt length of the prefill figure (default ${DEFAULT-VALUE})")
    int promptTokens;

    @Option(names = "--json", description = "print one JSON object with every figure on stdout (the text report goes to stderr)")
    boolean json;

    @Option(names = "--bandwidth-mib", defaultValue = "1024", description = "buffer for the bandwidth probe (larger than the caches)")
    long bandwidthMiB;

    @Override
    public Integer call() {
        if ((model == null) == (randomShape == null)) throw new IllegalArgumentException("give a MODEL file or --random-shape, not both");
        int t = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        boolean both = dot.equalsIgnoreCase("both");
        MatVec.DotMode dotMode = both ? MatVec.DotMode.DEFAULT : MatVec.DotMode.valueOf(dot.toUpperCase(Locale.ROOT));
        WeightFormat format = WeightFormat.parse(quant);
        if (batch < 1) throw new IllegalArgumentException("--batch must be >= 1, got " + batch);
        PrintWriter out = json ? spec.commandLine().getErr() : spec.commandLine().getOut();
        InferenceEngine engine;
        if (model != null) {
            engine = InferenceEngine.open(EngineConfig.of(model).withQuant(format).withThreads(t).withKvCache(KvCacheType.parse(kv))
                    .withBackend(BackendKind.parse(backend)).withDotMode(dotMode));
        } else {
            ModelConfig c = RandomModel.parseShape(randomShape);
            Arena arena = Arena.ofShared();
            long t0 = System.nanoTime();
            LoadedModel m;
            try (ParallelRunner pool = new ParallelRunner(t)) {
                m = RandomModel.create(c, format == WeightFormat.AS_FILE ? WeightFormat.F32 : format, 42, arena, pool);
            }
            out.printf(Locale.ROOT, "generated random model in %.1f s%n", (System.nanoTime() - t0) / 1e9);
            engine = InferenceEngine.create(EngineConfig.of(Path.of("random:" + randomShape)).withQuant(format).withThreads(t)
                    .withKvCache(KvCacheType.parse(kv)).withBackend(BackendKind.parse(backend)).withDotMode(dotMode), m, arena);
        }
        try (engine) {
            Map<String, Double> figures = new RuntimeBench(engine, new RuntimeBench.Settings(prefill, decode, adapters, rank, bandwidthMiB << 20, both), out).run();
            figures.put("decode_tok_s_batch1", figures.get("decode_tps"));
            figures.put("roofline_fraction", figures.get("roofline"));
            figures.put("attach_ms", figures.get("attach_ms_unmerged"));
            figures.put("detach_ms", figures.get("detach_ms_unmerged"));
            new BatchBench(engine, out).run(batch, distinctAdapters, promptTokens, decode, figures);
            if (json) {
                Map<String, Object> all = new LinkedHashMap<>(figures);
                all.put("batch", batch);
                all.put("backend", engine.backendName());
                spec.commandLine().getOut().println(new tools.jackson.databind.ObjectMapper().writeValueAsString(all));
                spec.commandLine().getOut().flush();
            }
        }
        return 0;
    }
}
