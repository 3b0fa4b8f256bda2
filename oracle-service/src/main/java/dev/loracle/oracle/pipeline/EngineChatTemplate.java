package dev.loracle.oracle.pipeline;

import dev.loracle.contracts.FailureCode;
import dev.loracle.oracle.runtime.RuntimeService;
import dev.loracle.runtime.chat.ChatMessage;
import dev.loracle.runtime.chat.ChatTemplate;
import dev.loracle.runtime.chat.ChatTemplateException;
import dev.loracle.runtime.engine.InferenceEngine;
import java.util.List;
import java.util.function.Function;

/**
 * The {@link PromptRenderer} hook for CHAT prompts: the model's own chat template (from its GGUF) with the generation
 * prompt added, and no second BOS where the tokenizer adds one. A template that refuses the messages fails the request
 * as PROMPT_INVALID with the template's reason.
 */
public final class EngineChatTemplate {
    private EngineChatTemplate() {}

    /** The hook for {@code runtime}'s model, or null when the model has no chat template. */
    public static Function<List<PromptRenderer.ChatMessage>, String> of(RuntimeService runtime) {
        return of(runtime.engine());
    }

    /** The hook for {@code engine}'s model (the node and {@code verify} render alike), or null without a template. */
    public static Function<List<PromptRenderer.ChatMessage>, String> of(InferenceEngine engine) {
        ChatTemplate template = engine.chatTemplate().orElse(null);
        if (template == null) return null;
        boolean tokenizerAddsBos = engine.tokenizer().addBos();
        return messages -> {
            try {
                return template.prompt(messages.stream().map(m -> new ChatMessage(m.role(), m.content())).toList(), tokenizerAddsBos);
            } catch (ChatTemplateException e) {
                throw new PipelineFailure(FailureCode.PROMPT_INVALID, e.getMessage());
            }
        };
    }
}
