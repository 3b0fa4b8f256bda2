package dev.loracle.runtime.cli;

import dev.loracle.runtime.model.GgufFile;
import dev.loracle.runtime.model.MappedFile;
import dev.loracle.runtime.tokenizer.Tokenizer;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Token ids of text as a prompt (BOS where the vocabulary asks for it, special tokens parsed).")
final class TokenizeCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL", description = "GGUF file (its vocabulary is used)")
    Path model;

    @Option(names = {"-p", "--prompt"}, description = "text to tokenize (prints the ids, one line)")
    String prompt;

    @Option(names = "--jsonl", description = "read one JSON string a line, write {\"tokens\":[...]} a line")
    boolean jsonl;

    @Option(names = "--input", defaultValue = "-", description = "JSON lines input file for --jsonl (default: stdin)")
    String input;

    @Override
    public Integer call() throws Exception {
        if (jsonl == (prompt != null)) throw new IllegalArgumentException("give either --prompt TEXT or --jsonl");
        PrintWriter out = spec.commandLine().getOut();
        try (Arena arena = Arena.ofConfined()) {
            Tokenizer t = Tokenizer.fromGguf(GgufFile.parse(MappedFile.map(model, arena)));
            if (prompt != null) {
                out.println(JsonLines.ids(t.encodePrompt(prompt)));
                return 0;
            }
            JsonLines.forEachPrompt(input, p -> {
                ObjectNode o = JsonNodeFactory.instance.objectNode();
                o.set("tokens", JsonLines.array(t.encodePrompt(p)));
                out.println(o);
                out.flush();
            });
        }
        return 0;
    }
}
