package dev.loracle.runtime.cli;

import dev.loracle.runtime.engine.EngineConfig;
import dev.loracle.runtime.engine.KvCacheType;
import dev.loracle.runtime.model.LoadedModel;
import dev.loracle.runtime.model.ModelConfig;
import dev.loracle.runtime.model.RandomModel;
import dev.loracle.runtime.model.WeightFormat;
import dev.loracle.runtime.tensor.ParallelRunner;
import java.lang.foreign.Arena;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * The engine options of the commands that run a model ({@code @Mixin}): how the base weights are held, matmul threads
 * and the KV cache type, with one spelling, default and help text. A command that keeps another quantization default
 * (generate serves the file's types) declares it with {@link QuantAsFile}.
 */
final class EngineOptions {
    @Option(names = "--quant", defaultValue = "q8_0", description = "f32 | q8_0 | q4_0 | q4_k | as_file (default ${DEFAULT-VALUE}; as_file multiplies K-quants as stored)")
    String quant;

    @Option(names = "--threads", description = "matmul threads (default: available processors)")
    Integer threads;

    @Option(names = "--kv", defaultValue = "f32", description = "KV cache: f32 | f16 | int8 (default ${DEFAULT-VALUE})")
    String kv;

    WeightFormat format() {
        return WeightFormat.parse(quant);
    }

    int threads() {
        return threads != null ? threads : Runtime.getRuntime().availableProcessors();
    }

    KvCacheType kvCache() {
        return KvCacheType.parse(kv);
    }

    /** {@code cfg} with this quantization, thread count and KV cache type. */
    EngineConfig applyTo(EngineConfig cfg) {
        return cfg.withQuant(format()).withThreads(threads()).withKvCache(kvCache());
    }

    /** A random-weight model of shape {@code c} (seed 42) in this quantization; as_file means F32 (there is no file). */
    LoadedModel randomModel(ModelConfig c, Arena arena) {
        WeightFormat format = format();
        try (ParallelRunner pool = new ParallelRunner(threads())) {
            return RandomModel.create(c, format == WeightFormat.AS_FILE ? WeightFormat.F32 : format, 42, arena, pool);
        }
    }

    /** Default value provider of a command whose {@code --quant} defaults to as_file (the file's own types). */
    static final class QuantAsFile implements CommandLine.IDefaultValueProvider {
        @Override
        public String defaultValue(CommandLine.Model.ArgSpec argSpec) {
            return argSpec.isOption() && ((CommandLine.Model.OptionSpec) argSpec).longestName().equals("--quant")
                    ? "as_file" : null;
        }
    }
}
