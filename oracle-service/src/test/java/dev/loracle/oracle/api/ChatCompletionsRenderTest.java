package dev.loracle.oracle.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loracle.contracts.FailureCode;
import dev.loracle.contracts.devchain.DevChainDeployer;
import dev.loracle.oracle.pipeline.EngineChatTemplate;
import dev.loracle.oracle.pipeline.PipelineFailure;
import dev.loracle.oracle.pipeline.PromptRenderer;
import dev.loracle.runtime.engine.BackendKind;
import dev.loracle.runtime.engine.EngineConfig;
import dev.loracle.runtime.engine.InferenceEngine;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What /v1/chat/completions journals: the messages as an on-chain CHAT prompt, rendered by the pipeline's template hook. */
class ChatCompletionsRenderTest {

    private static String journaled(ChatCompletionRequest.Message... messages) {
        return new String(ChatCompletionsController.chatJson(List.of(messages)), StandardCharsets.UTF_8);
    }

    @Test
    void journaledMessagesAreTheOnChainChatFormatAndRenderWithOneBos() {
        String json = journaled(new ChatCompletionRequest.Message("system", "Be \"brief\"."), new ChatCompletionRequest.Message("user", "Hi"));
        assertThat(PromptRenderer.chatMessages(json)).containsExactly(new PromptRenderer.ChatMessage("system", "Be \"brief\"."),
                new PromptRenderer.ChatMessage("user", "Hi"));
        var cfg = EngineConfig.of(DevChainDeployer.modelsDir().resolve("arch/llama3-tiny.gguf")).withBackend(BackendKind.CPU).withThreads(1);
        try (InferenceEngine engine = InferenceEngine.open(cfg)) {
            String prompt = EngineChatTemplate.of(engine).apply(PromptRenderer.chatMessages(json));
            assertThat(prompt).isEqualTo("<|start_header_id|>system<|end_header_id|>\n\nBe \"brief\".<|eot_id|>"
                    + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
            int[] ids = engine.tokenizer().encodePrompt(prompt);
            assertThat(ids[0]).isEqualTo(engine.tokenizer().bos());
            assertThat(ids[1]).isNotEqualTo(engine.tokenizer().bos());
        }
    }

    @Test
    void rolesThePipelineRefusesAreRefusedBeforeJournaling() {
        assertThatThrownBy(() -> PromptRenderer.chatMessages(journaled(new ChatCompletionRequest.Message("tool", "x"))))
                .isInstanceOfSatisfying(PipelineFailure.class, f -> assertThat(f.code()).isEqualTo(FailureCode.PROMPT_INVALID))
                .hasMessageContaining("role \"tool\"");
    }
}
