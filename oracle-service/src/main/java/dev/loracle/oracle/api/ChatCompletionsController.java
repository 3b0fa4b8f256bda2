package dev.loracle.oracle.api;

import dev.loracle.ipfs.Cid;
import dev.loracle.oracle.config.NodeConfiguration.ModelIdentity;
import dev.loracle.oracle.config.OracleProperties;
import dev.loracle.oracle.journal.AdapterSpec;
import dev.loracle.oracle.journal.InferenceSpec;
import dev.loracle.oracle.journal.JournalEntry;
import dev.loracle.oracle.journal.RequestJournal;
import dev.loracle.oracle.journal.RequestOrigin;
import dev.loracle.oracle.journal.RequestState;
import dev.loracle.oracle.pipeline.GenerationEvents;
import dev.loracle.oracle.pipeline.RequestPipeline;
import dev.loracle.oracle.runtime.RuntimeService;
import dev.loracle.runtime.chat.ChatMessage;
import dev.loracle.runtime.chat.ChatTemplate;
import dev.loracle.runtime.chat.ChatTemplateException;
import jakarta.validation.Valid;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * OpenAI-compatible {@code POST /v1/chat/completions}: the messages are rendered with the model's chat template (from
 * its GGUF), then the request is journaled and served like {@code /v1/completions}; generation stops at the
 * vocabulary's end-of-turn tokens. {@code stream: true} answers with {@code chat.completion.chunk} server-sent events,
 * then {@code [DONE]}.
 */
@RestController
public class ChatCompletionsController {
    private static final Duration TIMEOUT = Duration.ofMinutes(5);
    private static final int MAX_PROMPT_CHARS = 65_536;

    private final RequestJournal journal;
    private final RequestPipeline pipeline;
    private final ModelIdentity model;
    private final OracleProperties props;
    private final RuntimeService runtime;

    public ChatCompletionsController(RequestJournal journal, RequestPipeline pipeline, ModelIdentity model, OracleProperties props,
                                     RuntimeService runtime) {
        this.journal = journal;
        this.pipeline = pipeline;
        this.model = model;
        this.props = props;
        this.runtime = runtime;
    }

    /** The prompt text for {@code messages} under {@code template}, as the engine will tokenize it. */
    static String render(ChatTemplate template, List<ChatCompletionRequest.Message> messages, boolean tokenizerAddsBos) {
        List<ChatMessage> chat = new ArrayList<>();
        for (ChatCompletionRequest.Message m : messages) chat.add(new ChatMessage(m.role(), m.content()));
        return template.prompt(chat, tokenizerAddsBos);
    }

    @PostMapping(path = "/v1/chat/completions", consumes = MediaType.APPLICATION_JSON_VALUE)
    public Object chat(@Valid @RequestBody ChatCompletionRequest req) {
        if (!model.name().equals(req.model())) {
            return CompletionsController.error(HttpStatus.NOT_FOUND, "model '" + req.model() + "' is not served here; this node serves '" + model.name() + "'", "model_not_found");
        }
        var engine = runtime.engine();
        ChatTemplate template = engine.chatTemplate().orElse(null);
        if (template == null) {
            return CompletionsController.error(HttpStatus.BAD_REQUEST, "model '" + model.name() + "' has no chat template; use /v1/completions", "invalid_request_error");
        }
        String prompt;
        try {
            prompt = render(template, req.messages(), engine.tokenizer().addBos());
        } catch (ChatTemplateException e) {
            return CompletionsController.error(HttpStatus.BAD_REQUEST, e.getMessage(), "invalid_request_error");
        }
        if (prompt.length() > MAX_PROMPT_CHARS) {
            return CompletionsController.error(HttpStatus.BAD_REQUEST, "the rendered chat has " + prompt.length() + " characters (at most " + MAX_PROMPT_CHARS + ")", "invalid_request_error");
        }
        int maxTokens = req.maxTokens() == null ? 256 : req.maxTokens();
        if (maxTokens > props.api().maxTokens()) {
            return CompletionsController.error(HttpStatus.BAD_REQUEST, "max_tokens " + maxTokens + " is above this node's limit of " + props.api().maxTokens(), "invalid_request_error");
        }
        List<AdapterSpec> adapters = new ArrayList<>();
        for (int i = 0; i < req.adapters().size(); i++) {
            CompletionRequest.AdapterWeight a = req.adapters().get(i);
            long fixed = Math.round(a.weight() * 10_000);
            if (fixed == 0) return CompletionsController.error(HttpStatus.BAD_REQUEST, "adapters[" + i + "].weight must not be zero", "invalid_request_error");
            try {
                adapters.add(new AdapterSpec(Cid.parse(a.cid()).toBytes(), (int) fixed));
            } catch (RuntimeException e) {
                return CompletionsController.error(HttpStatus.BAD_REQUEST, "adapters[" + i + "].cid is not a valid CID: " + e.getMessage(), "invalid_request_error");
            }
        }
        if (!pipeline.accepting()) return CompletionsController.error(HttpStatus.SERVICE_UNAVAILABLE, "node is draining; try another node", "unavailable");
        if (pipeline.inFlight() >= props.scheduler().queueCapacity()) {
            return CompletionsController.error(HttpStatus.TOO_MANY_REQUESTS, "queue full (" + pipeline.inFlight() + " requests in flight); retry later", "rate_limit_exceeded");
        }
        long temperature = Math.round((req.temperature() == null ? 1.0 : req.temperature()) * 10_000);
        long topP = Math.round((req.topP() == null ? 1.0 : req.topP()) * 10_000);
        BigInteger seed = BigInteger.valueOf(req.seed() == null ? 0 : req.seed());
        String id = "chatcmpl-" + UUID.randomUUID().toString().replace("-", "");
        journal.record(new InferenceSpec(id, RequestOrigin.API, null, model.modelId(), adapters, prompt.getBytes(StandardCharsets.UTF_8),
                maxTokens, temperature, topP, seed, 0, 0, BigInteger.ZERO, null, 0), null);
        long created = System.currentTimeMillis() / 1000;
        return Boolean.TRUE.equals(req.stream()) ? stream(id, created, maxTokens) : blocking(id, created, maxTokens);
    }

    private ResponseEntity<?> blocking(String id, long created, int maxTokens) {
        CompletableFuture<JournalEntry> done = new CompletableFuture<>();
        pipeline.startApiRequest(id, new GenerationEvents() {
            @Override
            public void onToken(String piece) {
            }

            @Override
            public void onDone(JournalEntry entry) {
                done.complete(entry);
            }
        });
        try {
            JournalEntry e = done.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            if (failed(e)) return ResponseEntity.status(HttpStatus.UNPROCESSABLE_CONTENT).body(Map.of("error", error(e)));
            Map<String, Object> body = envelope(id, "chat.completion", created);
            Map<String, Object> choice = new LinkedHashMap<>();
            choice.put("index", 0);
            choice.put("message", Map.of("role", "assistant", "content", e.output()));
            choice.put("finish_reason", e.outputTokens() >= maxTokens ? "length" : "stop");
            body.put("choices", List.of(choice));
            body.put("usage", Map.of("completion_tokens", e.outputTokens(), "total_tokens", e.outputTokens()));
            body.put("result_commitment", e.resultCommitment());
            return ResponseEntity.ok(body);
        } catch (TimeoutException t) {
            pipeline.forgetObserver(id);
            return CompletionsController.error(HttpStatus.GATEWAY_TIMEOUT, "no result within " + TIMEOUT.toSeconds() + " s; see GET /api/requests/" + id, "timeout");
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            return CompletionsController.error(HttpStatus.SERVICE_UNAVAILABLE, "interrupted", "unavailable");
        } catch (ExecutionException ee) {
            return CompletionsController.error(HttpStatus.INTERNAL_SERVER_ERROR, ee.getCause().toString(), "server_error");
        }
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
                if (failed(e)) send(emitter, Map.of("error", error(e)));
                else send(emitter, chunk(id, created, Map.of(), e.outputTokens() >= maxTokens ? "length" : "stop"));
                try {
                    emitter.send(SseEmitter.event().data("[DONE]"));
                    emitter.complete();
                } catch (IOException | IllegalStateException gone) {
                    emitter.completeWithError(gone);
                }
            }
        });
        emitter.onTimeout(() -> pipeline.forgetObserver(id));
        return emitter;
    }

    private static boolean failed(JournalEntry e) {
        return e.output() == null || e.state() == RequestState.FAILED || e.state() == RequestState.EXPIRED || e.state() == RequestState.CANCELLED;
    }

    private static Map<String, Object> error(JournalEntry e) {
        Map<String, Object> err = new LinkedHashMap<>();
        err.put("message", e.reason() == null ? "request ended in state " + e.state() : e.reason());
        err.put("type", e.state() == RequestState.FAILED ? "inference_failed" : e.state().name().toLowerCase());
        return err;
    }

    private static void send(SseEmitter emitter, Object data) {
        try {
            emitter.send(SseEmitter.event().data(data, MediaType.APPLICATION_JSON));
        } catch (IOException | IllegalStateException clientGone) {
            // the client went away; generation continues and the result stays in the journal
        }
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
