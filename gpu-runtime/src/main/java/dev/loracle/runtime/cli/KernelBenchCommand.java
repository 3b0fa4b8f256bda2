package dev.loracle.runtime.cli;

import dev.loracle.runtime.model.LlamaWeights;
import dev.loracle.runtime.model.LoadedModel;
import dev.loracle.runtime.model.ModelLoader;
import dev.loracle.runtime.model.WeightFormat;
import dev.loracle.runtime.tensor.MatMul;
import dev.loracle.runtime.tensor.MatVec;
import dev.loracle.runtime.tensor.NativeKernels;
import dev.loracle.runtime.tensor.ParallelRunner;
import dev.loracle.runtime.tensor.QuantizedTensor;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code bench-kernels MODEL}: the weight-matrix part of a forward pass, timed alone. For each layer the batched
 * products a step runs (q/k/v sharing x, o, gate/up SwiGLU, down) plus the classifier for one token, for n = 1
 * (decode) and n = {@code --tokens} (a prefill step); attention, norms and RoPE are left out, so this is the upper
 * bound the kernels set on the engine's rates. One JSON object on stdout.
 */
@Command(name = "bench-kernels", mixinStandardHelpOptions = true,
        description = "Time the batched matmul kernels over a model's matrices (decode n=1 and a prefill batch).")
final class KernelBenchCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL", description = "GGUF or llama2.c model")
    Path model;

    @Option(names = "--tokens", defaultValue = "512", description = "tokens in the prefill batch (default ${DEFAULT-VALUE})")
    int tokens;

    @Option(names = "--threads", defaultValue = "2")
    int threads;

    @Option(names = "--dot", defaultValue = "int8", description = "float | int8 (default ${DEFAULT-VALUE})")
    String dot;

    @Option(names = "--runs", defaultValue = "5", description = "timed runs per figure; the median is reported")
    int runs;

    @Option(names = "--quant", defaultValue = "as_file",
            description = "as_file (K-quants multiplied as stored) | q8_0 | q4_0 | f32 (default ${DEFAULT-VALUE})")
    String quant;

    @Override
    public Integer call() {
        if (tokens < 1 || runs < 1 || threads < 1) throw new IllegalArgumentException("--tokens, --runs and --threads must be >= 1");
        MatVec.DotMode mode = MatVec.DotMode.valueOf(dot.toUpperCase(Locale.ROOT));
        try (Arena arena = Arena.ofShared(); ParallelRunner pool = new ParallelRunner(threads)) {
            WeightFormat format = WeightFormat.parse(quant);
            LoadedModel m = ModelLoader.load(model, null, format, arena);
            LlamaWeights w = m.weights();
            Step decode = new Step(w, 1), prefill = new Step(w, tokens);
            for (int i = 0; i < 3; i++) decode.run(pool, mode); // JIT warm-up
            prefill.run(pool, mode);
            double decodeSeconds = median(runs, () -> {
                for (int i = 0; i < 16; i++) decode.run(pool, mode);
            }) / 16;
            double prefillSeconds = median(runs, () -> prefill.run(pool, mode));
            double load = java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
            spec.commandLine().getOut().printf(Locale.ROOT,
                    "{\"model\": \"%s\", \"quant\": \"%s\", \"weight_types\": \"%s\", \"dot\": \"%s\", \"kernels\": \"%s\", \"threads\": %d, \"matmul_decode_tok_s\": %.1f,"
                            + " \"matmul_prefill_tokens\": %d, \"matmul_prefill_tok_s\": %.1f, \"weight_gb_s_decode\": %.2f, \"load_average\": %.2f}%n",
                    model.getFileName(), format.name().toLowerCase(Locale.ROOT), weightTypes(w), mode.name().toLowerCase(Locale.ROOT), mode == MatVec.DotMode.INT8 ? NativeKernels.describe() : "Java float kernels",
                    threads, 1 / decodeSeconds, tokens, tokens / prefillSeconds, w.bytesReadPerToken() / decodeSeconds / 1e9, load);
        }
        return 0;
    }

    /** The matrix types the step multiplies, e.g. "Q4_K+Q6_K". */
    private static String weightTypes(LlamaWeights w) {
        java.util.Set<String> types = new java.util.TreeSet<>();
        for (LlamaWeights.Layer l : w.layers()) {
            for (QuantizedTensor t : new QuantizedTensor[] {l.wq(), l.wk(), l.wv(), l.wo(), l.gate(), l.up(), l.down()}) types.add(t.type().name());
        }
        types.add(w.classifier().type().name());
        return String.join("+", types);
    }

    private static double median(int runs, Runnable r) {
        double[] t = new double[runs];
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            r.run();
            t[i] = (System.nanoTime() - t0) / 1e9;
        }
        Arrays.sort(t);
        return t[runs / 2];
    }

    /** The matrix products of one forward step over n tokens, with random activations of the right shapes. */
    private static final class Step {
        final LlamaWeights w;
        final int n;
        final float[] x, q, k, v, att, o, hidden, down, logits;

        Step(LlamaWeights w, int n) {
            this.w = w;
            this.n = n;
            var c = w.config();
            x = random(n * c.dim(), 1);
            att = random(n * c.qDim(), 2);
            hidden = random(n * c.hiddenDim(), 3);
            q = new float[n * c.qDim()];
            k = new float[n * c.kvDim()];
            v = new float[n * c.kvDim()];
            o = new float[n * c.dim()];
            down = new float[n * c.dim()];
            logits = new float[c.vocabSize()];
        }

        static float[] random(int len, long seed) {
            SplittableRandom r = new SplittableRandom(seed);
            float[] a = new float[len];
            for (int i = 0; i < len; i++) a[i] = (float) r.nextGaussian();
            return a;
        }

        void run(ParallelRunner pool, MatVec.DotMode mode) {
            for (LlamaWeights.Layer l : w.layers()) {
                MatMul.matmulMany(pool, new QuantizedTensor[] {l.wq(), l.wk(), l.wv()}, x, n, new float[][] {q, k, v}, mode);
                MatMul.matmul(pool, l.wo(), att, n, o, mode);
                MatMul.matmulSwiGlu(pool, l.gate(), l.up(), x, n, hidden, mode);
                MatMul.matmul(pool, l.down(), hidden, n, down, mode);
            }
            MatMul.matmul(pool, w.classifier(), x, 1, logits, mode); // logits for the last token only
        }
    }
}
