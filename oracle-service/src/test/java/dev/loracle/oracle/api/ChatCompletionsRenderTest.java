package dev.loracle.oracle.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loracle.runtime.chat.ChatTemplate;
import dev.loracle.runtime.chat.ChatTemplateException;
import dev.loracle.runtime.model.GgufFile;
import dev.loracle.runtime.model.MappedFile;
import dev.loracle.runtime.tokenizer.Tokenizer;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What /v1/chat/completions journals as the prompt: the model's template applied, one BOS in the end. */
class ChatCompletionsRenderTest {

    private static Path model(String name) {
        return dev.loracle.contracts.devchain.DevChainDeployer.modelsDir().resolve("arch/" + name + ".gguf");
    }

    @Test
    void llama3ChatBecomesItsHeaderFormatWithoutTheTemplatesBos() {
        try (Arena arena = Arena.ofConfined()) {
            GgufFile f = GgufFile.parse(MappedFile.map(model("llama3-tiny"), arena));
            Tokenizer t = Tokenizer.fromGguf(f);
            ChatTemplate template = ChatTemplate.fromGguf(f, t).orElseThrow();
            String prompt = ChatCompletionsController.render(template, List.of(
                    new ChatCompletionRequest.Message("system", "Be brief."), new ChatCompletionRequest.Message("user", "Hi")), t.addBos());
            assertThat(prompt).isEqualTo("<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                    + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
            assertThat(t.encodePrompt(prompt)[0]).isEqualTo(t.bos());
            assertThat(t.encodePrompt(prompt)[1]).isNotEqualTo(t.bos());
        }
    }

    @Test
    void templateErrorsAreRequestErrors() {
        ChatTemplate strict = new ChatTemplate("{% if messages[0].role != 'user' %}{{ raise_exception('first message must be from the user') }}{% endif %}ok", "", "");
        assertThatThrownBy(() -> ChatCompletionsController.render(strict, List.of(new ChatCompletionRequest.Message("assistant", "x")), false))
                .isInstanceOf(ChatTemplateException.class).hasMessageContaining("first message must be from the user");
    }
}
