package dev.loracle.oracle.pipeline;

import dev.loracle.contracts.FailureCode;
import dev.loracle.oracle.journal.InferenceSpec;
import dev.loracle.oracle.journal.PromptFormat;
import dev.loracle.oracle.runtime.RuntimeService;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * Turns a request's prompt bytes into the text the engine generates from, and checks it before any adapter is fetched:
 * UTF-8; a CHAT prompt must be a JSON list of {@code {"role","content"}} messages (roles system/user/assistant, at most
 * {@value #MAX_MESSAGES}); the result fits the context alone (else PROMPT_INVALID) and with maxTokens (else
 * CONTEXT_OVERFLOW). RAW prompts are used as they are; CHAT messages go through the model's chat template, given to the
 * constructor (none = this node fails chat requests with MODEL_UNAVAILABLE, refunded).
 */
public class PromptRenderer {
    /** One chat message of a CHAT prompt. */
    public record ChatMessage(String role, String content) {
    }

    static final int MAX_MESSAGES = 64;
    private static final Set<String> ROLES = Set.of("system", "user", "assistant");
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final RuntimeService runtime;
    private final Function<List<ChatMessage>, String> chatTemplate;

    /** A node without a chat template: CHAT requests are validated, then failed as MODEL_UNAVAILABLE. */
    public PromptRenderer(RuntimeService runtime) {
        this(runtime, null);
    }

    public PromptRenderer(RuntimeService runtime, Function<List<ChatMessage>, String> chatTemplate) {
        this.runtime = runtime;
        this.chatTemplate = chatTemplate;
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
        if (spec.promptFormat() == PromptFormat.CHAT) {
            List<ChatMessage> messages = chatMessages(text);
            if (chatTemplate == null) {
                throw new PipelineFailure(FailureCode.MODEL_UNAVAILABLE, "this node cannot render chat prompts for its model"
                        + " (no chat template); send a RAW prompt or use another oracle");
            }
            text = chatTemplate.apply(messages);
        }
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

    /** The messages of a CHAT prompt, or PROMPT_INVALID saying what is wrong with it. */
    public static List<ChatMessage> chatMessages(String text) {
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JacksonException e) {
            throw invalid("it is not JSON (" + e.getOriginalMessage() + ")");
        }
        if (root == null || !root.isArray()) throw invalid("it is not a JSON list");
        if (root.isEmpty()) throw invalid("the list is empty");
        if (root.size() > MAX_MESSAGES) throw invalid("it has " + root.size() + " messages, at most " + MAX_MESSAGES);
        List<ChatMessage> messages = new ArrayList<>();
        for (int i = 0; i < root.size(); i++) {
            JsonNode m = root.get(i);
            if (!m.isObject()) throw invalid("message " + i + " is not an object");
            if (m.size() != 2 || !m.has("role") || !m.has("content")) {
                throw invalid("message " + i + " must have exactly the fields role and content");
            }
            if (!m.get("role").isString() || !ROLES.contains(m.get("role").asString())) {
                throw invalid("message " + i + " has role " + m.get("role") + "; expected system, user or assistant");
            }
            if (!m.get("content").isString()) throw invalid("message " + i + " has a content that is not a string");
            messages.add(new ChatMessage(m.get("role").asString(), m.get("content").asString()));
        }
        return List.copyOf(messages);
    }

    private static PipelineFailure invalid(String why) {
        return new PipelineFailure(FailureCode.PROMPT_INVALID, "chat prompt must be a JSON list of {\"role\",\"content\"} messages: " + why);
    }
}
