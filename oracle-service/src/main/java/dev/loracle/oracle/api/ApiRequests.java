package dev.loracle.oracle.api;

import dev.loracle.ipfs.Cid;
import dev.loracle.oracle.config.NodeConfiguration.ModelIdentity;
import dev.loracle.oracle.config.OracleProperties;
import dev.loracle.oracle.journal.AdapterSpec;
import dev.loracle.oracle.journal.InferenceSpec;
import dev.loracle.oracle.journal.PromptFormat;
import dev.loracle.oracle.journal.RequestJournal;
import dev.loracle.oracle.journal.RequestOrigin;
import dev.loracle.oracle.pipeline.RequestPipeline;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.stereotype.Component;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * What {@code /v1/completions} and {@code /v1/chat/completions} share: the checks of model, max_tokens, adapters and
 * load, then one journal entry in the same shape as an on-chain request (RAW prompt text, or CHAT messages as the JSON
 * list an on-chain chat request carries), so both are served, rendered and committed exactly like the chain's.
 */
@Component
public class ApiRequests {
    private static final Logger log = LoggerFactory.getLogger(ApiRequests.class);

    /** A refused request and the answer for it (see {@link ApiErrors}). */
    static final class Refused extends RuntimeException {
        final transient ResponseEntity<?> answer;

        Refused(HttpStatus status, String message, String type) {
            super(message, null, false, false);
            this.answer = CompletionsController.error(status, message, type);
        }
    }

    /** The sampling fields of either request. */
    record Sampling(String model, Integer maxTokens, Double temperature, Double topP, Long seed, boolean stream,
                    List<CompletionRequest.AdapterWeight> adapters) {
    }

    private final RequestJournal journal;
    private final RequestPipeline pipeline;
    private final ModelIdentity model;
    private final OracleProperties props;

    public ApiRequests(RequestJournal journal, RequestPipeline pipeline, ModelIdentity model, OracleProperties props) {
        this.journal = journal;
        this.pipeline = pipeline;
        this.model = model;
        this.props = props;
    }

    /** The model name clients must send. */
    String modelName() {
        return model.name();
    }

    /** Throws {@link Refused} (404) unless {@code requested} is this node's model. */
    void requireModel(String requested) {
        if (!model.name().equals(requested)) {
            throw new Refused(HttpStatus.NOT_FOUND, "model '" + requested + "' is not served here; this node serves '" + model.name() + "'", "model_not_found");
        }
    }

    /** The max_tokens to use ({@code defaultMaxTokens} when absent), or {@link Refused} above this node's limit. */
    int maxTokens(Integer requested, int defaultMaxTokens) {
        int maxTokens = requested == null ? Math.min(defaultMaxTokens, props.api().maxTokens()) : requested;
        if (maxTokens > props.api().maxTokens()) {
            throw new Refused(HttpStatus.BAD_REQUEST, "max_tokens " + maxTokens + " is above this node's limit of " + props.api().maxTokens(), "invalid_request_error");
        }
        return maxTokens;
    }

    /**
     * Checks the adapters and the node's load, journals the request and returns its id ({@code idPrefix} + random);
     * {@link Refused} when it cannot be taken.
     */
    String journal(String idPrefix, byte[] prompt, PromptFormat format, int maxTokens, Sampling s) {
        List<AdapterSpec> adapters = new ArrayList<>();
        for (int i = 0; i < s.adapters().size(); i++) {
            CompletionRequest.AdapterWeight a = s.adapters().get(i);
            long fixed = Math.round(a.weight() * 10_000);
            if (fixed == 0) throw new Refused(HttpStatus.BAD_REQUEST, "adapters[" + i + "].weight must not be zero", "invalid_request_error");
            try {
                adapters.add(new AdapterSpec(Cid.parse(a.cid()).toBytes(), (int) fixed));
            } catch (RuntimeException e) {
                throw new Refused(HttpStatus.BAD_REQUEST, "adapters[" + i + "].cid is not a valid CID: " + e.getMessage(), "invalid_request_error");
            }
        }
        if (!pipeline.accepting()) throw new Refused(HttpStatus.SERVICE_UNAVAILABLE, "node is draining; try another node", "unavailable");
        if (pipeline.inFlight() >= props.scheduler().queueCapacity()) {
            throw new Refused(HttpStatus.TOO_MANY_REQUESTS, "queue full (" + pipeline.inFlight() + " requests in flight); retry later", "rate_limit_exceeded");
        }
        long temperature = Math.round((s.temperature() == null ? 1.0 : s.temperature()) * 10_000);
        long topP = Math.round((s.topP() == null ? 1.0 : s.topP()) * 10_000);
        BigInteger seed = BigInteger.valueOf(s.seed() == null ? 0 : s.seed());
        String id = idPrefix + UUID.randomUUID().toString().replace("-", "");
        journal.record(new InferenceSpec(id, RequestOrigin.API, null, model.modelId(), adapters, prompt, maxTokens, temperature, topP,
                seed, 0, 0, BigInteger.ZERO, null, 0, format), null);
        MDC.put("requestId", id);
        try {
            log.info("{} request journaled ({} adapters, max_tokens {}, stream {})", format, adapters.size(), maxTokens, s.stream());
        } finally {
            MDC.remove("requestId");
        }
        return id;
    }
}
