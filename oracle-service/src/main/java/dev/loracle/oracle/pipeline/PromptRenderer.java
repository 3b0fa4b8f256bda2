package dev.loracle.oracle.pipeline;

import dev.loracle.contracts.FailureCode;
import dev.loracle.oracle.journal.InferenceSpec;
import dev.loracle.oracle.runtime.RuntimeService;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Turns a request's prompt bytes into the text the engine generates from, and checks it before any adapter is fetched:
 * UTF-8, fits the context alone (else PROMPT_INVALID), fits with maxTokens (else CONTEXT_OVERFLOW). Prompts are raw text
 * today; a chat-format request will be rendered through the model's chat template here (one place to wire it).
 */
public class PromptRenderer {
    private final RuntimeService runtime;

    public PromptRenderer(RuntimeService runtime) {
        this.runtime = runtime;
    }

    /** The engine's input text for {@code spec}; throws {@link PipelineFailure} with the on-chain code when it is unusable. */
    public String render(InferenceSpec spec) {
        byte[] prompt = spec.prompt();
        if (prompt.length == 0) throw new PipelineFailure(FailureCode.PROMPT_INVALID, "prompt is empty");
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(prompt)).toString();
        } catch (CharacterCodingException e) {
            throw new PipelineFailure(FailureCode.PROMPT_INVALID, "prompt is not valid UTF-8: " + e.getMessage());
        }
        if (spec.maxTokens() < 1) throw new PipelineFailure(FailureCode.PROMPT_INVALID, "maxTokens must be >= 1");
        int context = runtime.contextLength();
        int promptTokens = runtime.promptTokens(text);
        if (promptTokens >= context) {
            throw new PipelineFailure(FailureCode.PROMPT_INVALID, "prompt is " + promptTokens
                    + " tokens; the model's context is " + context + " tokens");
        }
        if (promptTokens + spec.maxTokens() > context) {
            throw new PipelineFailure(FailureCode.CONTEXT_OVERFLOW, "prompt of " + promptTokens + " tokens + maxTokens "
                    + spec.maxTokens() + " exceeds the model's context of " + context + " tokens (at most "
                    + (context - promptTokens) + " new tokens fit)");
        }
        return text;
    }
}
