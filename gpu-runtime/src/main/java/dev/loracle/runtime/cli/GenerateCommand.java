package dev.loracle.runtime.cli;

import dev.loracle.runtime.chat.ChatMessage;
import dev.loracle.runtime.chat.ChatTemplate;
import dev.loracle.runtime.engine.AttachMode;
import dev.loracle.runtime.engine.Attachment;
import dev.loracle.runtime.engine.BackendKind;
import dev.loracle.runtime.engine.EngineConfig;
import dev.loracle.runtime.engine.GenerationRequest;
import dev.loracle.runtime.engine.GenerationResult;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.engine.KvCacheType;
import dev.loracle.runtime.lora.LoadOptions;
import dev.loracle.runtime.lora.LoraAdapter;
import dev.loracle.runtime.lora.PeftAdapter;
import dev.loracle.runtime.lora.WeightedAdapter;
import dev.loracle.runtime.model.WeightFormat;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "generate", mixinStandardHelpOptions = true, description = "Generate text, optionally with LoRA adapters attached.")
final class GenerateCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL", description = "GGUF file or llama2.c checkpoint (.bin)")
    Path model;

    @Option(names = "--tokenizer", description = "llama2.c tokenizer.bin (default: from the GGUF, or tok<vocab>.bin beside a .bin)")
    Path tokenizer;

    @Option(names = "--adapter", paramLabel = "PATH[:WEIGHT]", description = "PEFT adapter directory, weight default 1 (repeatable)")
    List<String> adapters = new ArrayList<>();

    @Option(names = "--qk-order", defaultValue = "auto", description = "Q/K rows of adapters: auto (permute HF->GGUF where the"
            + " base's converter did: llama GGUFs from Hugging Face), hf (always permute), as-is (never)")
    String qkOrder;

    @Option(names = "--mode", defaultValue = "merged", description = "merged | unmerged (default ${DEFAULT-VALUE})")
    String mode;

    @Option(names = {"-p", "--prompt"}, description = "the prompt (required unless --jsonl)")
    String prompt;

    @Option(names = "--chat", description = "send the prompt as a user message through the model's chat template")
    boolean chat;

    @Option(names = "--system", description = "system message for --chat")
    String system;

    @Option(names = "--jsonl", description = "conformance mode: greedy, base model; one JSON prompt a line on stdin (or --input),"
            + " one line {\"tokens\",\"top8_ids\",\"top8_logits\",\"greedy\"} out")
    boolean jsonl;

    @Option(names = "--input", defaultValue = "-", description = "JSON lines input file for --jsonl (default: stdin)")
    String input;

    @Option(names = {"-n", "--max-tokens"}, defaultValue = "128")
    int maxTokens;

    @Option(names = {"-t", "--temperature"}, defaultValue = "0", description = "0 = greedy (default)")
    float temperature;

    @Option(names = "--top-p", defaultValue = "1.0")
    float topP;

    @Option(names = {"-s", "--seed"}, defaultValue = "0")
    long seed;

    @Option(names = "--quant", defaultValue = "as_file", description = "f32 | q8_0 | q4_0 | q4_k | as_file (default: K-quants multiplied as stored)")
    String quant;

    @Option(names = "--threads", description = "matmul threads (default: available processors)")
    Integer threads;

    @Option(names = "--kv", defaultValue = "f32", description = "KV cache: f32 | f16 | int8")
    String kv;

    @Option(names = "--backend", defaultValue = "auto", description = "auto | cpu | cuda (default ${DEFAULT-VALUE})")
    String backend;

    @Option(names = "--red-line", description = "memory red line, e.g. 2g, 512m (default: none)")
    String redLine;

    @Override
    public Integer call() throws java.io.IOException {
        if (jsonl == (prompt != null)) throw new IllegalArgumentException("give either --prompt TEXT or --jsonl");
        EngineConfig cfg = EngineConfig.of(model).withTokenizer(tokenizer).withQuant(WeightFormat.parse(quant))
                .withKvCache(KvCacheType.parse(kv)).withBackend(BackendKind.parse(backend));
        if (threads != null) cfg = cfg.withThreads(threads);
        if (redLine != null) cfg = cfg.withRedLineBytes(parseBytes(redLine));
        AttachMode attachMode = parseMode(mode);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try (InferenceEngine engine = InferenceEngine.open(cfg)) {
            err.printf(Locale.ROOT, "model: %s | backend: %s%n", engine.modelDescription(), engine.backendDescription());
            if (jsonl) {
                if (!adapters.isEmpty()) throw new IllegalArgumentException("--jsonl runs the base model; drop --adapter");
                JsonLines.forEachPrompt(input, p -> {
                    PromptProbe r = PromptProbe.run(engine, p, maxTokens);
                    var o = tools.jackson.databind.node.JsonNodeFactory.instance.objectNode();
                    o.set("tokens", JsonLines.array(r.tokens()));
                    o.set("top8_ids", JsonLines.array(r.top8Ids()));
                    o.set("top8_logits", JsonLines.array(r.top8Logits()));
                    o.set("greedy", JsonLines.array(r.greedy()));
                    out.println(o);
                    out.flush();
                });
                return 0;
            }
            List<WeightedAdapter> weighted = new ArrayList<>();
            for (String spec : adapters) weighted.add(loadAdapter(spec, engine));
            Attachment att = weighted.isEmpty() ? null : engine.attach(weighted, attachMode);
            if (att != null) err.printf(Locale.ROOT, "attached %s in %.1f ms%n", att, att.attachNanos() / 1e6);
            String text = chat ? chatPrompt(engine) : prompt;
            if (!chat) {
                out.print(prompt);
                out.flush();
            }
            GenerationResult r = engine.generate(att, new GenerationRequest(text, maxTokens, temperature, topP, seed), (t, piece) -> {
                out.print(piece);
                out.flush();
            });
            out.println();
            err.printf(Locale.ROOT, "%d prompt tokens, %d generated (%s); prefill %.1f tok/s, decode %.1f tok/s%n",
                    r.promptTokens(), r.tokens().length, r.stopReason(), r.prefillTokensPerSecond(), r.decodeTokensPerSecond());
            if (att != null) engine.detach(att);
        }
        return 0;
    }

    private String chatPrompt(InferenceEngine engine) {
        ChatTemplate t = engine.chatTemplate().orElseThrow(() -> new IllegalArgumentException("--chat: " + model.getFileName() + " has no chat template"));
        List<ChatMessage> messages = new ArrayList<>();
        if (system != null) messages.add(ChatMessage.system(system));
        messages.add(ChatMessage.user(prompt));
        return t.prompt(messages, engine.tokenizer().addBos());
    }

    private WeightedAdapter loadAdapter(String spec, InferenceEngine engine) {
        String path = spec;
        float weight = 1f;
        int colon = spec.lastIndexOf(':');
        if (colon > 0) {
            try {
                weight = Float.parseFloat(spec.substring(colon + 1));
                path = spec.substring(0, colon);
            } catch (NumberFormatException e) {
                // a colon in the path itself
            }
        }
        LoadOptions opts = switch (qkOrder.trim().toLowerCase(Locale.ROOT)) {
            case "auto" -> engine.adapterLoadOptions();
            case "hf" -> LoadOptions.permuteQkForGguf(engine.shape().nHeads(), engine.shape().nKvHeads());
            case "as-is" -> LoadOptions.defaults();
            default -> throw new IllegalArgumentException("unknown --qk-order '" + qkOrder + "' (expected auto, hf or as-is)");
        };
        LoraAdapter a = PeftAdapter.load(Path.of(path), opts);
        return new WeightedAdapter(a, weight);
    }

    static AttachMode parseMode(String s) {
        return switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "merged" -> AttachMode.MERGED;
            case "unmerged" -> AttachMode.UNMERGED;
            default -> throw new IllegalArgumentException("unknown mode '" + s + "' (expected merged or unmerged)");
        };
    }

    static long parseBytes(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        long mul = 1;
        if (t.endsWith("g") || t.endsWith("gb") || t.endsWith("gib")) mul = 1L << 30;
        else if (t.endsWith("m") || t.endsWith("mb") || t.endsWith("mib")) mul = 1L << 20;
        else if (t.endsWith("k") || t.endsWith("kb") || t.endsWith("kib")) mul = 1L << 10;
        String num = t.replaceAll("[a-z]+$", "");
        try {
            return (long) (Double.parseDouble(num) * mul);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad byte size '" + s + "' (e.g. 2g, 512m)");
        }
    }
}
