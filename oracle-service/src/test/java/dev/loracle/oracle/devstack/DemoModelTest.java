package dev.loracle.oracle.devstack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loracle.contracts.NumericProfile;
import dev.loracle.contracts.devchain.DevChainDeployer;
import dev.loracle.runtime.engine.BackendKind;
import dev.loracle.runtime.engine.EngineConfig;
import dev.loracle.runtime.engine.InferenceEngine;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** What {@code scripts/demo --model FILE} registers and serves, read from real GGUF fixtures; bad files are refused clearly. */
class DemoModelTest {
    private static final Path MODELS = DevChainDeployer.modelsDir();

    @Test
    void llama3ChatModel() {
        DemoModel model = DemoModel.fromGguf(MODELS.resolve("arch/llama3-tiny.gguf"));
        assertThat(model.name()).isEqualTo("llama3-tiny-random"); // general.name
        assertThat(model.chat()).isTrue();
        assertThat(model.tokenizer()).as("vocabulary from the GGUF").isNull();
        assertThat(model.shape().architecture()).isEqualTo("llama");
        assertThat(model.shape().dim()).isEqualTo(128);
        assertThat(model.shape().hiddenDim()).isEqualTo(384);
        assertThat(model.shape().nLayers()).isEqualTo(2);
        assertThat(model.shape().nHeads()).isEqualTo(4);
        assertThat(model.shape().nKvHeads()).isEqualTo(2);
        assertThat(model.shape().vocabSize()).isEqualTo(128256);
        assertThat(model.weights()).isAbsolute().hasFileName("llama3-tiny.gguf");
    }

    @Test
    void qwen2ChatModelAndAGgufWithoutATemplate() {
        DemoModel qwen = DemoModel.fromGguf(MODELS.resolve("arch/qwen2-tiny.gguf"));
        assertThat(qwen.name()).isEqualTo("qwen2-tiny-random");
        assertThat(qwen.shape().architecture()).isEqualTo("qwen2");
        assertThat(qwen.chat()).isTrue();
        DemoModel stories = DemoModel.fromGguf(MODELS.resolve("gguf/stories260K-f32.gguf"));
        assertThat(stories.chat()).as("no chat template: RAW prompts").isFalse();
        assertThat(stories.shape()).isEqualTo(ExampleAdapters.STORIES_260K);
    }

    /** The registered profile must be the one the node computes once it loaded the file, or it refuses to start. */
    @ParameterizedTest
    @ValueSource(strings = {"arch/llama3-tiny.gguf", "arch/kq-Q4_K_M.gguf", "gguf/stories260K-q8_0-mixed.gguf"})
    void profileIsTheOneTheNodeReports(String file) {
        Path path = MODELS.resolve(file);
        DemoModel model = DemoModel.fromGguf(path);
        try (InferenceEngine engine = InferenceEngine.open(EngineConfig.of(path).withBackend(BackendKind.CPU).withThreads(1))) {
            NumericProfile node = new NumericProfile(engine.weights().layers().getFirst().wq().type().name(), "UNMERGED",
                    engine.config().kvCache().name());
            assertThat(model.profile()).isEqualTo(node);
            assertThat(model.shape()).isEqualTo(engine.shape());
            assertThat(model.chat()).isEqualTo(engine.chatTemplate().isPresent());
        }
    }

    @Test
    void kQuantFileRegistersTheKQuantTypeItRunsIn() { // K-quants are multiplied as stored, not requantized to Q8_0
        assertThat(DemoModel.fromGguf(MODELS.resolve("arch/kq-Q4_K_M.gguf")).profile().quant()).isEqualTo("Q4_K");
    }

    @Test
    void apiExampleSuitsThePromptFormat() throws Exception {
        var json = tools.jackson.databind.json.JsonMapper.builder().build();
        DemoModel.ApiExample chat = DemoModel.fromGguf(MODELS.resolve("arch/qwen2-tiny.gguf")).apiExample(32);
        assertThat(chat.path()).isEqualTo("/v1/chat/completions");
        var body = json.readTree(chat.body());
        assertThat(body.path("model").asString()).isEqualTo("qwen2-tiny-random");
        assertThat(body.path("messages").get(0).path("role").asString()).isEqualTo("user");
        assertThat(body.path("messages").get(0).path("content").asString()).isEqualTo(DemoModel.CHAT_STORY_REQUEST);
        DemoModel.ApiExample raw = DemoModel.stories260K(MODELS).apiExample(16);
        assertThat(raw.path()).isEqualTo("/v1/completions");
        assertThat(json.readTree(raw.body()).path("prompt").asString()).isEqualTo("Once upon a time");
        assertThat(json.readTree(raw.body()).path("max_tokens").asInt()).isEqualTo(16);
    }

    @Test
    void stories260KDefault() {
        DemoModel model = DemoModel.stories260K(MODELS);
        assertThat(model.name()).isEqualTo(DevChainDeployer.DEFAULT_MODEL_NAME);
        assertThat(model.profile()).isEqualTo(NumericProfile.DEV_DEFAULT);
        assertThat(model.tokenizer()).isRegularFile();
        assertThat(model.chat()).isFalse();
    }

    @Test
    void missingFileIsNamed(@TempDir Path dir) {
        Path missing = dir.resolve("nope.gguf");
        assertThatThrownBy(() -> DemoModel.fromGguf(missing))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(missing.toString()).hasMessageContaining("does not exist");
    }

    @Test
    void notAGgufIsNamed() {
        Path bin = MODELS.resolve(DevChainDeployer.DEFAULT_WEIGHTS_FILE).toAbsolutePath().normalize();
        assertThatThrownBy(() -> DemoModel.fromGguf(bin))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(bin.toString()).hasMessageContaining("not a GGUF file");
    }

    @Test
    void truncatedGgufIsNamedWithTheReason(@TempDir Path dir) throws Exception {
        byte[] whole = Files.readAllBytes(MODELS.resolve("arch/qwen2-tiny.gguf"));
        Path cut = dir.resolve("cut.gguf");
        Files.write(cut, Arrays.copyOf(whole, 4096));
        assertThatThrownBy(() -> DemoModel.fromGguf(cut))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("cannot use model file " + cut + ": ")
                .satisfies(e -> assertThat(e.getMessage()).hasSizeGreaterThan(("cannot use model file " + cut + ": ").length()));
    }
}
