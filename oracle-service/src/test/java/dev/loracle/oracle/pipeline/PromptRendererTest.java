package dev.loracle.oracle.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loracle.contracts.FailureCode;
import org.junit.jupiter.api.Test;

import java.util.List;

class PromptRendererTest {
    @Test
    void readsWellFormedChatMessages() {
        assertThat(PromptRenderer.chatMessages("[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"content\":\"Hi\",\"role\":\"user\"}]"))
                .containsExactly(new PromptRenderer.ChatMessage("system", "Be brief."), new PromptRenderer.ChatMessage("user", "Hi"));
    }

    @Test
    void rejectsMalformedChatPromptsWithTheReason() {
        List<List<String>> cases = List.of(
                List.of("Once upon a time", "it is not JSON"),
                List.of("{\"role\":\"user\",\"content\":\"x\"}", "it is not a JSON list"),
                List.of("[]", "the list is empty"),
                List.of("[\"hello\"]", "message 0 is not an object"),
                List.of("[{\"role\":\"user\"}]", "exactly the fields role and content"),
                List.of("[{\"role\":\"user\",\"content\":\"x\",\"name\":\"bob\"}]", "exactly the fields role and content"),
                List.of("[{\"role\":\"tool\",\"content\":\"x\"}]", "expected system, user or assistant"),
                List.of("[{\"role\":\"user\",\"content\":42}]", "content that is not a string"),
                List.of("[" + "{\"role\":\"user\",\"content\":\"x\"},".repeat(64) + "{\"role\":\"user\",\"content\":\"x\"}]",
                        "65 messages, at most 64"));
        for (List<String> c : cases) {
            assertThatThrownBy(() -> PromptRenderer.chatMessages(c.get(0)), c.get(0))
                    .isInstanceOfSatisfying(PipelineFailure.class, f -> {
                        assertThat(f.code()).isEqualTo(FailureCode.PROMPT_INVALID);
                        assertThat(f.getMessage()).startsWith("chat prompt must be a JSON list").contains(c.get(1));
                    });
        }
    }
}
