package dev.loracle.runtime.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.runtime.engine.EngineConfig;
import dev.loracle.runtime.engine.KvCacheType;
import dev.loracle.runtime.model.WeightFormat;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/** The shared --quant / --threads / --kv of bench, bench-sessions and generate: same flags, each command's default. */
class EngineOptionsTest {
    private static EngineOptions parse(List<String> args) {
        CommandLine.ParseResult result = LoracleRuntimeCli.commandLine().parseArgs(args.toArray(String[]::new));
        Object command = result.subcommand().commandSpec().userObject();
        return switch (command) {
            case BenchCommand b -> b.engineOptions;
            case SessionBenchCommand s -> s.engineOptions;
            case GenerateCommand g -> g.engineOptions;
            default -> throw new AssertionError("no engine options in " + command);
        };
    }

    private static List<String> commandLine(String command, String... options) {
        List<String> head = switch (command) {
            case "generate" -> List.of("generate", "model.gguf", "-p", "x");
            case "bench" -> List.of("bench", "model.gguf");
            default -> List.of(command);
        };
        return java.util.stream.Stream.concat(head.stream(), java.util.Arrays.stream(options)).toList();
    }

    @ParameterizedTest
    @CsvSource({"bench, Q8_0", "bench-sessions, Q8_0", "generate, AS_FILE"})
    void eachCommandKeepsItsQuantizationDefault(String command, WeightFormat expected) {
        EngineOptions options = parse(commandLine(command));
        assertEquals(expected, options.format());
        assertEquals(KvCacheType.F32, options.kvCache());
        assertEquals(Runtime.getRuntime().availableProcessors(), options.threads());
    }

    @ParameterizedTest
    @ValueSource(strings = {"bench", "bench-sessions", "generate"})
    void theSameFlagsReachTheEngineConfig(String command) {
        EngineOptions options = parse(commandLine(command, "--quant", "f32", "--threads", "3", "--kv", "int8"));
        EngineConfig cfg = options.applyTo(EngineConfig.of(Path.of("model.gguf")));
        assertEquals(WeightFormat.F32, cfg.quant());
        assertEquals(3, cfg.threads());
        assertEquals(KvCacheType.INT8, cfg.kvCache());
    }

    @ParameterizedTest
    @CsvSource({"bench, q8_0", "bench-sessions, q8_0", "generate, as_file"})
    void helpShowsEachOptionOnceWithTheCommandsDefault(String command, String quantDefault) {
        CliTest.Run help = CliTest.run(command, "--help");
        assertEquals(0, help.code(), help.err());
        String out = help.out().replaceAll("\\s+", " "); // picocli wraps long descriptions
        assertTrue(out.contains("f32 | q8_0 | q4_0 | q4_k | as_file (default " + quantDefault + ";"), help.out());
        assertTrue(out.contains("KV cache: f32 | f16 | int8 (default f32)"), help.out());
        assertTrue(out.contains("matmul threads (default: available processors)"), help.out());
        assertEquals(2, out.split("f32 \\| q8_0 \\| q4_0 \\| q4_k \\| as_file", -1).length, "one --quant: " + help.out());
    }
}
