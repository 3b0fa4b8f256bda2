package dev.loracle.oracle.devstack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loracle.contracts.devchain.DevChainDeployer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The demo's command line: --model, the prompt default per prompt format, bad input. */
class DemoOptionsTest {
    @Test
    void defaultsServeStories260KWithTheRawOpening() {
        DemoOptions options = DemoOptions.parse(new String[0]);
        assertThat(options.model()).isNull();
        assertThat(options.promptFor(DemoModel.stories260K(DevChainDeployer.modelsDir()))).isEqualTo("Once upon a time");
    }

    @Test
    void modelFileAndThePromptForAChatModel() {
        DemoOptions options = DemoOptions.parse(new String[] {"--model", "/m/llama3.gguf", "--max-tokens", "16"});
        assertThat(options.model()).isEqualTo(Path.of("/m/llama3.gguf"));
        assertThat(options.maxTokens()).isEqualTo(16);
        DemoModel chat = DemoModel.fromGguf(DevChainDeployer.modelsDir().resolve("arch/llama3-tiny.gguf"));
        assertThat(options.promptFor(chat)).isEqualTo(DemoModel.CHAT_STORY_REQUEST);
        DemoOptions withPrompt = DemoOptions.parse(new String[] {"--model", "x.gguf", "--prompt", "Hi there"});
        assertThat(withPrompt.promptFor(chat)).isEqualTo("Hi there");
    }

    @Test
    void badInputNamesTheOption() {
        assertThatThrownBy(() -> DemoOptions.parse(new String[] {"--model"})).hasMessage("--model needs a value");
        assertThatThrownBy(() -> DemoOptions.parse(new String[] {"--max-tokens", "0"})).hasMessageContaining("--max-tokens must be positive");
        assertThatThrownBy(() -> DemoOptions.parse(new String[] {"--modle", "x"})).hasMessage("unknown option --modle");
        assertThat(DemoOptions.parse(new String[] {"--help"})).isNull();
        assertThat(DemoOptions.USAGE).contains("--model FILE");
    }
}
