package dev.loracle.runtime.cli;

import dev.loracle.runtime.model.GgufWriter;
import dev.loracle.runtime.model.LlamaWeights;
import dev.loracle.runtime.model.ModelConfig;
import dev.loracle.runtime.model.RandomModel;
import dev.loracle.runtime.model.WeightFormat;
import dev.loracle.runtime.tensor.GgmlType;
import dev.loracle.runtime.tensor.ParallelRunner;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code export-gguf --random-shape 110m --format q8_0 FILE}: a random-weight Llama model as a GGUF file that
 * llama.cpp loads too, so that {@code bin/cpu-bench-vs-llamacpp} runs both engines on the same bytes.
 */
@Command(name = "export-gguf", mixinStandardHelpOptions = true,
        description = "Write a random-weight Llama model as GGUF (same bytes for this engine and llama.cpp).")
final class ExportGgufCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FILE", description = "GGUF file to write")
    Path file;

    @Option(names = "--random-shape", required = true, description = "110m | 1b | 260k | dim,hidden,layers,heads,kvheads,vocab[,context]")
    String shape;

    @Option(names = "--format", defaultValue = "q8_0", description = "f32 | q8_0 | q4_0 | q4_k (default ${DEFAULT-VALUE})")
    String format;

    @Option(names = "--seed", defaultValue = "42")
    long seed;

    @Override
    public Integer call() throws IOException {
        ModelConfig c = RandomModel.parseShape(shape);
        WeightFormat f = WeightFormat.parse(format);
        if (f == WeightFormat.AS_FILE) throw new IllegalArgumentException("--format must be f32, q8_0, q4_0 or q4_k");
        try (Arena arena = Arena.ofShared(); ParallelRunner pool = new ParallelRunner(Runtime.getRuntime().availableProcessors())) {
            LlamaWeights w = RandomModel.create(c, f, seed, arena, pool).weights();
            GgufWriter g = new GgufWriter();
            describe(g, c, f.type(), shape);
            w.tensors().forEach((name, t) -> g.add(t.withData(name, t.type(), t.data())));
            g.write(file);
            spec.commandLine().getOut().printf(Locale.ROOT, "wrote %s: random %s as %s, %.1f MB of weights%n",
                    file, shape, f.type(), w.byteSize() / 1e6);
        }
        return 0;
    }

    /** The llama.* hyper-parameters and the synthetic SentencePiece vocabulary of {@link RandomModel}. */
    static void describe(GgufWriter g, ModelConfig c, GgmlType type, String shape) {
        g.put("general.architecture", "llama").put("general.name", "loracle-random-" + shape)
                .put("general.file_type", switch (type) { // llama_ftype: ALL_F32, MOSTLY_Q4_0, MOSTLY_Q8_0, MOSTLY_Q4_K_S
                    case F32 -> 0;
                    case Q4_0 -> 2;
                    case Q8_0 -> 7;
                    case Q4_K -> 14;
                    default -> throw new IllegalArgumentException("no file type for " + type);
                })
                .put("llama.context_length", c.contextLength()).put("llama.embedding_length", c.dim())
                .put("llama.block_count", c.nLayers()).put("llama.feed_forward_length", c.hiddenDim())
                .put("llama.rope.dimension_count", c.headDim()).put("llama.attention.head_count", c.nHeads())
                .put("llama.attention.head_count_kv", c.nKvHeads()).put("llama.attention.layer_norm_rms_epsilon", c.rmsEps())
                .put("llama.rope.freq_base", c.ropeTheta()).put("llama.vocab_size", c.vocabSize());
        int v = c.vocabSize();
        var tokenizer = RandomModel.syntheticTokenizer(v);
        String[] tokens = new String[v];
        int[] types = new int[v];
        for (int i = 0; i < v; i++) {
            tokens[i] = tokenizer.token(i);
            types[i] = i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1; // UNKNOWN, CONTROL, BYTE, NORMAL
        }
        g.put("tokenizer.ggml.model", "llama").put("tokenizer.ggml.tokens", tokens).put("tokenizer.ggml.scores", new float[v])
                .put("tokenizer.ggml.token_type", types).put("tokenizer.ggml.bos_token_id", 1).put("tokenizer.ggml.eos_token_id", 2)
                .put("tokenizer.ggml.unknown_token_id", 0);
    }
}
