package dev.loracle.runtime.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code loracle-runtime generate|tokenize|bench}. */
@Command(name = "loracle-runtime", mixinStandardHelpOptions = true, version = "loracle-runtime 0.1.0",
        description = "Llama inference with hot-attached LoRA adapters (CPU backend).",
        subcommands = {GenerateCommand.class, TokenizeCommand.class, BenchCommand.class, ExportGgufCommand.class, KernelBenchCommand.class, SessionBenchCommand.class})
public final class LoracleRuntimeCli implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command: generate, tokenize or bench");
    }

    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new LoracleRuntimeCli());
        cl.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
            // bad input: one clear line, no stack trace
            cmd.getErr().println("error: " + (ex.getMessage() != null ? ex.getMessage() : ex.toString()));
            return 2;
        });
        return cl;
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }
}
