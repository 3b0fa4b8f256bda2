package dev.loracle.oracle.api;

import dev.loracle.oracle.config.NodeConfiguration.ModelIdentity;
import dev.loracle.oracle.journal.JournalEntry;
import dev.loracle.oracle.journal.PromptFormat;
import dev.loracle.oracle.pipeline.EngineChatTemplate;
import dev.loracle.oracle.pipeline.GenerationEvents;
import dev.loracle.oracle.pipeline.PipelineFailure;
import dev.loracle.oracle.pipeline.PromptRenderer;
import dev.loracle.oracle.pipeline.RequestPipeline;
import dev.loracle.oracle.runtime.RuntimeService;
import jakarta.validation.Valid;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * OpenAI-compatible {@code POST /v1/chat/completions}: the messages are journaled as a CHAT prompt (the JSON list an
 * on-chain chat request carries, through {@link ApiRequests} like {@code /v1/completions}); the pipeline renders them with
 * the model's chat template (from its GGUF, the same hook as for on-chain CHAT requests and {@code verify}) and generation
 * stops at the vocabulary's end-of-turn tokens. A model without a template, messages the pipeline would refuse (roles
 * other than system/user/assistant) or a template that refuses them is a 400 before anything is journaled. {@code stream: true} answers with
 * {@code chat.completion.chunk} server-sent events, then {@code [DONE]}.
 */
@RestController
public class ChatCompletionsController {
    private static final Duration TIMEOUT = Duration.ofMinutes(5);
    private static final int MAX_PROMPT_CHARS = 65_536;
    private static final tools.jackson.databind.json.JsonMapper JSON = tools.jackson.databind.json.JsonMapper.builder().build();

    private final ApiRequests requests;
    private final RequestPipeline pipeline;
    private final ModelIdentity model;
    private final Function<List<PromptRenderer.ChatMessage>, String> chatTemplate;

    public ChatCompletionsController(ApiRequests requests, RequestPipeline pipeline, ModelIdentity model, RuntimeService runtime) {
        this.requests = requests;
        this.pipeline = pipeline;
        this.model = model;
        this.chatTemplate = EngineChatTemplate.of(runtime);
    }

    @PostMapping(path = "/v1/chat/completions", consumes = MediaType.APPLICATION_JSON_VALUE)
    public Object chat(@Valid @RequestBody ChatCompletionRequest req) {
        requests.requireModel(req.model());
        if (chatTemplate == null) {
            throw new ApiRequests.Refused(HttpStatus.BAD_REQUEST, "model '" + requests.modelName() + "' has no chat template; use /v1/completions", "invalid_request_error");
        }
        byte[] prompt = chatJson(req.messages());
        String text;
        try { // the messages and the template checked here as the pipeline will render them, before anything is journaled
            text = chatTemplate.apply(PromptRenderer.chatMessages(new String(prompt, StandardCharsets.UTF_8)));
        } catch (PipelineFailure e) {
            throw new ApiRequests.Refused(HttpStatus.BAD_REQUEST, e.getMessage(), "invalid_request_error");
        }
        if (text.length() > MAX_PROMPT_CHARS) {
            throw new ApiRequests.Refused(HttpStatus.BAD_REQUEST, "the rendered chat has " + text.length() + " characters (at most " + MAX_PROMPT_CHARS + ")", "invalid_request_error");
        }
        int maxTokens = requests.maxTokens(req.maxTokens(), 256);
        boolean stream = Boolean.TRUE.equals(req.stream());
        String id = requests.journal("chatcmpl-", prompt, PromptFormat.CHAT, maxTokens,
                new ApiRequests.Sampling(req.model(), req.maxTokens(), req.temperature(), req.topP(), req.seed(), stream, req.adapters()));
        long created = System.currentTimeMillis() / 1000;
        return stream ? stream(id, created, maxTokens) : blocking(id, created, maxTokens);
    }

    /** The messages as a CHAT prompt: a JSON list of {"role","content"} objects, UTF-8. */
    static byte[] chatJson(List<ChatCompletionRequest.Message> messages) {
        List<Map<String, String>> list = new ArrayList<>();
        for (ChatCompletionRequest.Message m : messages) {
            Map<String, String> o = new LinkedHashMap<>();
            o.put("role", m.role());
            o.put("content", m.content());
            list.add(o);
        }
        return JSON.writeValueAsString(list).getBytes(StandardCharsets.UTF_8);
    }

    private ResponseEntity<?> blocking(String id, long created, int maxTokens) {
        return CompletionsController.awaitResult(pipeline, id, e -> {
            Map<String, Object> body = envelope(id, "chat.completion", created);
            Map<String, Object> choice = new LinkedHashMap<>();
            choice.put("index", 0);
            choice.put("message", Map.of("role", "assistant", "content", e.output()));
            choice.put("finish_reason", CompletionsController.finishReason(e, maxTokens));
            body.put("choices", List.of(choice));
            body.put("usage", Map.of("completion_tokens", e.outputTokens(), "total_tokens", e.outputTokens()));
            body.put("result_commitment", e.resultCommitment());
            return ResponseEntity.ok(body);
        });
    }

    private SseEmitter stream(String id, long created, int maxTokens) {
        SseEmitter emitter = new SseEmitter(TIMEOUT.toMillis());
        send(emitter, chunk(id, created, Map.of("role", "assistant", "content", ""), null));
        pipeline.startApiRequest(id, new GenerationEvents() {
            @Override
            public void onToken(String piece) {
                send(emitter, chunk(id, created, Map.of("content", piece), null));
            }

            @Override
            public void onDone(JournalEntry e) {
                if (CompletionsController.failed(e)) send(emitter, Map.of("error", CompletionsController.errorBody(e)));
                else send(emitter, chunk(id, created, Map.of(), CompletionsController.finishReason(e, maxTokens)));
                CompletionsController.sendDone(emitter);
            }
        });
        emitter.onTimeout(() -> pipeline.forgetObserver(id));
        return emitter;
    }

    private static void send(SseEmitter emitter, Object data) {
        CompletionsController.send(emitter, data);
    }

    private Map<String, Object> envelope(String id, String object, long created) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("id", id);
        body.put("object", object);
        body.put("created", created);
        body.put("model", model.name());
        return body;
    }

    private Map<String, Object> chunk(String id, long created, Map<String, Object> delta, String finish) {
        Map<String, Object> choice = new LinkedHashMap<>();
        choice.put("index", 0);
        choice.put("delta", delta);
        choice.put("finish_reason", finish);
        Map<String, Object> body = envelope(id, "chat.completion.chunk", created);
        body.put("choices", List.of(choice));
        return body;
    }
}
