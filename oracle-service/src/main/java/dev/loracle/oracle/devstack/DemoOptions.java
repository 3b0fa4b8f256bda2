package dev.loracle.oracle.devstack;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The command line of {@code scripts/demo} ({@link LocalDemo}).
 *
 * @param prompt --prompt, or null for the served model's default ({@link #promptFor})
 * @param model --model: a GGUF to serve instead of stories260K, or null
 */
public record DemoOptions(boolean keepRunning, Integer blockTime, String prompt, int maxTokens, long seed,
        boolean oracleProcess, Integer anvilPort, Integer oraclePort, int timeoutSeconds, Path endpointsFile,
        Path model) {
    static final String USAGE = """
            usage: scripts/demo [options]
              --keep-running       leave chain, IPFS and oracle running after the story; print endpoints (with
                                   a dev API key for /v1/completions) as JSON and write them to --endpoints-file
              --endpoints-file F   where --keep-running writes the endpoints JSON (default <tmp>/loracle-dev-stack.json)
              --block-time N       mine a block every N seconds instead of one per transaction
              --model FILE         serve this GGUF instead of stories260K (Llama 3, Qwen2.5, TinyLlama, ...): registered
                                   under its general.name with its sha256 and numeric profile, adapters made for
                                   its shape; a model with a chat template gets the prompt as a chat message
              --prompt TEXT        opening of the story (default "Once upon a time"); with a chat model, the
                                   user's message (default: asks for a short story that opens that way)
              --max-tokens N       story length in tokens (default 96)
              --seed N             sampling seed (default 42)
              --oracle-process     run the oracle node as a child JVM instead of inside this one
              --anvil-port N       fixed port for Anvil (default: a free port)
              --oracle-port N      fixed port for the oracle REST API (default: a free port)
              --timeout SECONDS    how long to wait for the story (default 180)
              --help               this text""";

    /** The prompt sent for {@code served}: --prompt, else the model's default story prompt. */
    public String promptFor(DemoModel served) {
        return prompt != null ? prompt : served.defaultPrompt();
    }

    /** Parses the command line; null means --help. */
    public static DemoOptions parse(String[] args) {
        boolean keepRunning = false;
        boolean oracleProcess = false;
        Integer blockTime = null;
        Integer anvilPort = null;
        Integer oraclePort = null;
        String prompt = null;
        Path model = null;
        int maxTokens = 96;
        long seed = 42;
        int timeout = 180;
        Path endpointsFile = Path.of(System.getProperty("java.io.tmpdir"), "loracle-dev-stack.json");
        List<String> rest = new ArrayList<>(List.of(args));
        for (int i = 0; i < rest.size(); i++) {
            String arg = rest.get(i);
            switch (arg) {
                case "--help", "-h" -> {
                    return null;
                }
                case "--keep-running" -> keepRunning = true;
                case "--oracle-process" -> oracleProcess = true;
                case "--block-time" -> blockTime = positive(arg, value(rest, ++i, arg));
                case "--anvil-port" -> anvilPort = positive(arg, value(rest, ++i, arg));
                case "--oracle-port" -> oraclePort = positive(arg, value(rest, ++i, arg));
                case "--prompt" -> {
                    prompt = value(rest, ++i, arg);
                    if (prompt.isBlank()) {
                        throw new IllegalArgumentException("--prompt must not be empty");
                    }
                }
                case "--model" -> model = Path.of(value(rest, ++i, arg));
                case "--max-tokens" -> maxTokens = positive(arg, value(rest, ++i, arg));
                case "--seed" -> {
                    String text = value(rest, ++i, arg);
                    try {
                        seed = Long.parseUnsignedLong(text);
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("--seed needs an unsigned 64-bit number, got " + text);
                    }
                }
                case "--timeout" -> timeout = positive(arg, value(rest, ++i, arg));
                case "--endpoints-file" -> endpointsFile = Path.of(value(rest, ++i, arg));
                default -> throw new IllegalArgumentException("unknown option " + arg);
            }
        }
        return new DemoOptions(keepRunning, blockTime, prompt, maxTokens, seed, oracleProcess, anvilPort, oraclePort,
                timeout, endpointsFile.toAbsolutePath(), model);
    }

    private static String value(List<String> args, int index, String option) {
        if (index >= args.size()) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args.get(index);
    }

    private static int positive(String option, String text) {
        try {
            int value = Integer.parseInt(text);
            if (value <= 0) {
                throw new IllegalArgumentException(option + " must be positive, got " + text);
            }
            return value;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " needs a number, got " + text);
        }
    }
}
