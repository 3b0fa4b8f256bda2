package dev.loracle.runtime.model;

import dev.loracle.runtime.chat.ChatTemplate;
import dev.loracle.runtime.tokenizer.Tokenizer;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Opens a GGUF v3 file (tokenizer from its metadata) or a llama2.c checkpoint (tokenizer.bin given, or found beside it
 * as tok&lt;vocab&gt;.bin / tokenizer.bin), memory-mapped in {@code arena}, and converts weights to {@code format}.
 */
public final class ModelLoader {
    private ModelLoader() {}

    public static LoadedModel load(Path model, Path tokenizerOrNull, WeightFormat format, Arena arena) {
        MemorySegment file = MappedFile.map(model, arena);
        LlamaWeights weights;
        Tokenizer tokenizer;
        Optional<ChatTemplate> chat = Optional.empty();
        boolean qkPermuted = false;
        String kind;
        if (GgufFile.looksLikeGguf(file)) {
            GgufFile gguf = GgufFile.parse(file);
            weights = GgufLlamaModel.weights(gguf);
            tokenizer = tokenizerOrNull != null ? Tokenizer.fromLlama2c(tokenizerOrNull, weights.config().vocabSize()) : Tokenizer.fromGguf(gguf);
            if (tokenizerOrNull == null) chat = ChatTemplate.fromGguf(gguf, tokenizer);
            qkPermuted = GgufLlamaModel.qkPermutedFromHf(gguf);
            kind = "GGUF v" + gguf.version();
        } else {
            weights = Llama2cCheckpoint.parse(file);
            Path tok = tokenizerOrNull != null ? tokenizerOrNull : findLlama2cTokenizer(model, weights.config().vocabSize());
            tokenizer = Tokenizer.fromLlama2c(tok, weights.config().vocabSize());
            kind = "llama2.c checkpoint";
        }
        if (tokenizer.vocabSize() != weights.config().vocabSize()) {
            throw new ModelFormatException("tokenizer has " + tokenizer.vocabSize() + " tokens but the model has " + weights.config().vocabSize());
        }
        LlamaWeights converted = WeightConverter.convert(weights, format, arena);
        return new LoadedModel(converted, tokenizer, chat, qkPermuted, kind + " " + model.getFileName() + " as " + format);
    }

    private static Path findLlama2cTokenizer(Path model, int vocab) {
        Path dir = model.toAbsolutePath().getParent();
        for (String name : new String[] {"tok" + vocab + ".bin", "tokenizer.bin"}) {
            Path p = dir.resolve(name);
            if (Files.isRegularFile(p)) return p;
        }
        throw new ModelFormatException("llama2.c checkpoint " + model + " needs a tokenizer: pass --tokenizer (no tok" + vocab
                + ".bin or tokenizer.bin beside it)");
    }
}
