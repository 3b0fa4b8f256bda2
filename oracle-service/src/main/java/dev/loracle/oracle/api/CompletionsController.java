package dev.loracle.oracle.api;

import dev.loracle.oracle.config.NodeConfiguration.ModelIdentity;
import dev.loracle.oracle.journal.JournalEntry;
import dev.loracle.oracle.journal.PromptFormat;
import dev.loracle.oracle.journal.RequestState;
import dev.loracle.oracle.pipeline.GenerationEvents;
import dev.loracle.oracle.pipeline.RequestPipeline;
import jakarta.validation.Valid;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * OpenAI-compatible {@code POST /v1/completions}: journaled like on-chain requests and served by the same fetch,
 * scheduler and runtime, minus the chain steps. {@code stream: true} answers with server-sent events, one chunk per token,
 * then {@code [DONE]}. The adapters are released once the response has been produced.
 */
@RestController
public class CompletionsController {
    private static final Duration TIMEOUT = Duration.ofMinutes(5);

    private final ApiRequests requests;
    private final RequestPipeline pipeline;
    private final ModelIdentity model;

    public CompletionsController(ApiRequests requests, RequestPipeline pipeline, ModelIdentity model) {
        this.requests = requests;
        this.pipeline = pipeline;
        this.model = model;
    }

    @PostMapping(path = "/v1/completions", consumes = MediaType.APPLICATION_JSON_VALUE)
    public Object complete(@Valid @RequestBody CompletionRequest req) {
        requests.requireModel(req.model());
        int maxTokens = requests.maxTokens(req.maxTokens(), 16);
        boolean stream = Boolean.TRUE.equals(req.stream());
        String id = requests.journal("cmpl-", req.prompt().getBytes(StandardCharsets.UTF_8), PromptFormat.RAW, maxTokens,
                new ApiRequests.Sampling(req.model(), req.maxTokens(), req.temperature(), req.topP(), req.seed(), stream, req.adapters()));
        long created = System.currentTimeMillis() / 1000;
        return stream ? stream(id, created, maxTokens) : blocking(id, created, maxTokens);
    }

    private ResponseEntity<?> blocking(String id, long created, int maxTokens) {
        return awaitResult(pipeline, id, e -> ResponseEntity.ok(completion(id, created, e.output(), finishReason(e, maxTokens), e, maxTokens)));
    }

    /**
     * Starts API request {@code id} and waits (up to {@link #TIMEOUT}) for its end: a failed, expired or cancelled request
     * (or one without output) is answered as {@link #failure}, a served one by {@code served}; a timeout as 504.
     */
    static ResponseEntity<?> awaitResult(RequestPipeline pipeline, String id, Function<JournalEntry, ResponseEntity<?>> served) {
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
            return failed(e) ? failure(e) : served.apply(e);
        } catch (TimeoutException t) {
            pipeline.forgetObserver(id);
            return error(HttpStatus.GATEWAY_TIMEOUT, "no result within " + TIMEOUT.toSeconds() + " s; see GET /api/requests/" + id, "timeout");
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            return error(HttpStatus.SERVICE_UNAVAILABLE, "interrupted", "unavailable");
        } catch (ExecutionException ee) {
            return error(HttpStatus.INTERNAL_SERVER_ERROR, ee.getCause().toString(), "server_error");
        }
    }

    /** Whether an ended request has no answer to give (it failed, expired or was cancelled). */
    static boolean failed(JournalEntry e) {
        return e.output() == null || e.state() == RequestState.FAILED || e.state() == RequestState.EXPIRED || e.state() == RequestState.CANCELLED;
    }

    private SseEmitter stream(String id, long created, int maxTokens) {
        SseEmitter emitter = new SseEmitter(TIMEOUT.toMillis());
        pipeline.startApiRequest(id, new GenerationEvents() {
            @Override
            public void onToken(String piece) {
                send(emitter, chunk(id, created, piece, null));
            }

            @Override
            public void onDone(JournalEntry e) {
                if (failed(e)) {
                    send(emitter, Map.of("error", errorBody(e)));
                } else {
                    send(emitter, chunk(id, created, "", finishReason(e, maxTokens)));
                }
                sendDone(emitter);
            }
        });
        emitter.onTimeout(() -> pipeline.forgetObserver(id));
        return emitter;
    }

    static void send(SseEmitter emitter, Object data) {
        try {
            emitter.send(SseEmitter.event().data(data, MediaType.APPLICATION_JSON));
        } catch (IOException | IllegalStateException clientGone) {
            // the client went away; generation continues and the result stays in the journal
        }
    }

    /** Ends an SSE answer the OpenAI way: a {@code [DONE]} event, then the stream is closed. */
    static void sendDone(SseEmitter emitter) {
        try {
            emitter.send(SseEmitter.event().data("[DONE]"));
            emitter.complete();
        } catch (IOException | IllegalStateException gone) {
            emitter.completeWithError(gone);
        }
    }

    static String finishReason(JournalEntry e, int maxTokens) {
        return e.outputTokens() >= maxTokens ? "length" : "stop";
    }

    private Map<String, Object> completion(String id, long created, String text, String finish, JournalEntry e, int maxTokens) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("id", id);
        body.put("object", "text_completion");
        body.put("created", created);
        body.put("model", model.name());
        Map<String, Object> choice = new LinkedHashMap<>();
        choice.put("text", text);
        choice.put("index", 0);
        choice.put("logprobs", null);
        choice.put("finish_reason", finish);
        body.put("choices", List.of(choice));
        body.put("usage", Map.of("completion_tokens", e.outputTokens(), "total_tokens", e.outputTokens()));
        body.put("result_commitment", e.resultCommitment());
        return body;
    }

    private Map<String, Object> chunk(String id, long created, String text, String finish) {
        Map<String, Object> choice = new LinkedHashMap<>();
        choice.put("text", text);
        choice.put("index", 0);
        choice.put("logprobs", null);
        choice.put("finish_reason", finish);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("id", id);
        body.put("object", "text_completion");
        body.put("created", created);
        body.put("model", model.name());
        body.put("choices", List.of(choice));
        return body;
    }

    static Map<String, Object> errorBody(JournalEntry e) {
        Map<String, Object> err = new LinkedHashMap<>();
        err.put("message", e.reason() == null ? "request ended in state " + e.state() : e.reason());
        err.put("type", e.state() == RequestState.FAILED ? "inference_failed" : e.state().name().toLowerCase());
        err.put("code", e.failureCode() == null ? null : dev.loracle.contracts.FailureCode.fromCode(e.failureCode()).name());
        return err;
    }

    static ResponseEntity<?> failure(JournalEntry e) {
        HttpStatus status = e.failureCode() != null && e.failureCode() <= 6 ? HttpStatus.UNPROCESSABLE_CONTENT : HttpStatus.INTERNAL_SERVER_ERROR;
        if (e.state() == RequestState.EXPIRED || e.state() == RequestState.CANCELLED) status = HttpStatus.SERVICE_UNAVAILABLE;
        return ResponseEntity.status(status).body(Map.of("error", errorBody(e)));
    }

    static ResponseEntity<?> error(HttpStatus status, String message, String type) {
        Map<String, Object> err = new LinkedHashMap<>();
        err.put("message", message);
        err.put("type", type);
        return ResponseEntity.status(status).body(Map.of("error", err));
    }
}
