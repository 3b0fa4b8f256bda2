package dev.loracle.oracle.devstack;

import dev.loracle.contracts.NumericProfile;
import dev.loracle.contracts.devchain.DevChainDeployer;
import dev.loracle.runtime.chat.ChatMessage;
import dev.loracle.runtime.chat.ChatTemplate;
import dev.loracle.runtime.engine.EngineConfig;
import dev.loracle.runtime.lora.ModelShape;
import dev.loracle.runtime.model.GgufFile;
import dev.loracle.runtime.model.GgufLlamaModel;
import dev.loracle.runtime.model.LlamaWeights;
import dev.loracle.runtime.model.MappedFile;
import dev.loracle.runtime.model.WeightConverter;
import dev.loracle.runtime.model.WeightFormat;
import dev.loracle.runtime.tensor.QuantizedTensor;
import dev.loracle.runtime.tokenizer.Tokenizer;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import tools.jackson.databind.json.JsonMapper;

/**
 * The base model a dev stack registers on its chain and serves: stories260K (the offline default) or any GGUF the
 * engine loads. It carries what the chain and the node must agree on (name, whose keccak256 is the modelId; the
 * weights file, hashed into the registration; the numeric profile the node will run) and what the demo needs to
 * use it (the shape its example adapters are generated for, and whether prompts go through a chat template).
 *
 * @param name on-chain model name ({@code general.name} of a GGUF) and the completions API's "model"
 * @param weights the model file
 * @param tokenizer llama2.c tokenizer file, or null when the model file carries its vocabulary (GGUF)
 * @param uri informational URI registered with the model
 * @param shape dimensions PEFT adapters must match
 * @param profile numeric profile of a node serving this file on its defaults (as the node computes it)
 * @param chat whether the file has a chat template (the demo then sends CHAT prompts)
 */
public record DemoModel(String name, Path weights, Path tokenizer, String uri, ModelShape shape,
        NumericProfile profile, boolean chat) {
    /** The RAW story opening the demo sends when no prompt is given. */
    public static final String STORY_OPENING = "Once upon a time";
    /** The user message the demo sends a chat model when no prompt is given. */
    public static final String CHAT_STORY_REQUEST = "Tell me a short story that begins with \"" + STORY_OPENING + "\".";
    private static final JsonMapper JSON = JsonMapper.builder().build();
    /** The node's default attach mode ({@code loracle.model.attach-mode}), part of the registered profile. */
    private static final String NODE_ATTACH_MODE = "UNMERGED";

    public DemoModel {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(weights, "weights");
        Objects.requireNonNull(uri, "uri");
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(profile, "profile");
    }

    /** stories260K from {@code modelsDir} (llama2.c checkpoint + tok512.bin): raw prompts, the F32 dev profile. */
    public static DemoModel stories260K(Path modelsDir) {
        return new DemoModel(DevChainDeployer.DEFAULT_MODEL_NAME,
                modelsDir.resolve(DevChainDeployer.DEFAULT_WEIGHTS_FILE), modelsDir.resolve("llama2c/tok512.bin"),
                "hf://karpathy/tinyllamas/stories260K/stories260K.bin", ExampleAdapters.STORIES_260K, NumericProfile.DEV_DEFAULT,
                false);
    }

    /**
     * Reads a GGUF's metadata, shape, vocabulary and chat template the way the engine will (memory-mapped, nothing
     * converted), so a file the node could not load is refused here, naming the file and the reason.
     *
     * @throws IllegalArgumentException when the file is missing, not a GGUF, or not loadable by the engine
     */
    public static DemoModel fromGguf(Path file) {
        Path path = file.toAbsolutePath().normalize();
        if (!Files.isRegularFile(path)) {
            throw new IllegalArgumentException("model file " + path + " does not exist");
        }
        if (!Files.isReadable(path)) {
            throw new IllegalArgumentException("model file " + path + " is not readable");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mapped = MappedFile.map(path, arena);
            if (!GgufFile.looksLikeGguf(mapped)) {
                throw new IllegalArgumentException("model file " + path + " is not a GGUF file (--model takes a GGUF; "
                        + "the default stories260K runs without it)");
            }
            GgufFile gguf = GgufFile.parse(mapped);
            LlamaWeights weights = GgufLlamaModel.weights(gguf);
            Tokenizer tokenizer = Tokenizer.fromGguf(gguf);
            if (tokenizer.vocabSize() != weights.config().vocabSize()) {
                throw new IllegalArgumentException("tokenizer has " + tokenizer.vocabSize()
                        + " tokens but the model has " + weights.config().vocabSize());
            }
            boolean chat = ChatTemplate.fromGguf(gguf, tokenizer)
                    .map(template -> rendersAUserMessage(template))
                    .orElse(false);
            return new DemoModel(modelName(gguf, path), path, null, path.toUri().toString(),
                    weights.config().shape(), nodeProfile(weights, path), chat);
        } catch (IllegalArgumentException e) {
            throw e.getMessage() != null && e.getMessage().contains(path.toString()) ? e
                    : new IllegalArgumentException("cannot use model file " + path + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("cannot use model file " + path + ": " + e.getMessage(), e);
        }
    }

    /** The story prompt when none is given: a chat message asking for a story, else the story's opening. */
    public String defaultPrompt() {
        return chat ? CHAT_STORY_REQUEST : STORY_OPENING;
    }

    /** The CHAT prompt of a one-message conversation: {@code [{"role":"user","content":...}]}. */
    public static String chatMessages(String userMessage) {
        return JSON.writeValueAsString(List.of(Map.of("role", "user", "content", userMessage)));
    }

    /** A call of the node's OpenAI-style API that suits this model: its path and JSON body. */
    public record ApiExample(String path, String body) {}

    /** Chat completions with the default story request for a chat model, else text completions of the opening. */
    public ApiExample apiExample(int maxTokens) {
        String model = JSON.writeValueAsString(name);
        return chat
                ? new ApiExample("/v1/chat/completions", "{\"model\":" + model + ",\"messages\":"
                        + chatMessages(CHAT_STORY_REQUEST) + ",\"max_tokens\":" + maxTokens + "}")
                : new ApiExample("/v1/completions", "{\"model\":" + model + ",\"prompt\":"
                        + JSON.writeValueAsString(STORY_OPENING) + ",\"max_tokens\":" + maxTokens + "}");
    }

    /** {@code general.name}, else the file name without {@code .gguf}. */
    private static String modelName(GgufFile gguf, Path path) {
        if (gguf.metadata().get("general.name") instanceof String name && !name.isBlank()) {
            return name.strip();
        }
        String file = path.getFileName().toString();
        return file.toLowerCase(java.util.Locale.ROOT).endsWith(".gguf") ? file.substring(0, file.length() - 5) : file;
    }

    /**
     * The profile a node on its defaults reports for this file: the type its first query projection is held in after
     * loading as stored (types without kernels become Q8_0), the default attach mode and KV cache type.
     */
    private static NumericProfile nodeProfile(LlamaWeights weights, Path path) {
        QuantizedTensor wq = weights.layers().getFirst().wq();
        String quant = WeightConverter.targetType(wq.type(), wq.cols(), WeightFormat.AS_FILE).name();
        return new NumericProfile(quant, NODE_ATTACH_MODE, EngineConfig.of(path).kvCache().name());
    }

    /** A template that cannot render one user message (it raises, or fails to parse) is no use for the demo's CHAT. */
    private static boolean rendersAUserMessage(ChatTemplate template) {
        try {
            template.render(List.of(new ChatMessage("user", "Tell me a story.")), true);
            return true;
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("its chat template cannot render a user message: " + e.getMessage(), e);
        }
    }
}
