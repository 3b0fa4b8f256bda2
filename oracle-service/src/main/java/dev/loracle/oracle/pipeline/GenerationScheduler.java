package dev.loracle.oracle.pipeline;

import dev.loracle.contracts.FailureCode;
import dev.loracle.contracts.ResultCommitment;
import dev.loracle.oracle.chain.InferenceRequestConverter;
import dev.loracle.oracle.journal.InferenceSpec;
import dev.loracle.oracle.journal.JournalEntry;
import dev.loracle.oracle.journal.RequestOrigin;
import dev.loracle.oracle.journal.RequestState;
import dev.loracle.oracle.journal.StaleStateException;
import dev.loracle.oracle.runtime.RuntimeService;
import dev.loracle.oracle.session.RebuiltHistory;
import dev.loracle.oracle.session.SessionServing;
import dev.loracle.runtime.engine.AdapterWeight;
import dev.loracle.runtime.engine.ContextOverflowException;
import dev.loracle.runtime.engine.GenerationRequest;
import dev.loracle.runtime.engine.GenerationResult;
import dev.loracle.runtime.engine.TokenListener;
import dev.loracle.runtime.lora.AdapterValidationException;
import dev.loracle.runtime.memory.RedLineExceededException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.web3j.utils.Numeric;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionException;

/**
 * Stage 2: hands prepared requests to the {@link Generator} and turns each outcome into the next step. Right before a
 * generation starts it checks again that the request is wanted (journal state, deadline, and {@code isPending} on-chain,
 * so a request another oracle has served meanwhile costs no generation). A finished generation gets its result
 * commitment and goes to the submitter (on-chain) or is delivered (API).
 */
final class GenerationScheduler {
    private static final Logger log = LoggerFactory.getLogger(GenerationScheduler.class);

    private final PipelineContext ctx;
    private final Generator generator;
    private final Outcomes outcomes;
    private final FulfilmentSubmitter submitter;
    private final Counter generations;
    private final DistributionSummary tokensPerSecond;
    /** Moving average of the wall time from start to result here (a batch shares steps, so it grows with load). */
    private final java.util.concurrent.atomic.AtomicLong recentGenerationMs = new java.util.concurrent.atomic.AtomicLong();
    /** Jobs handed to the generator and not finished yet. */
    private final java.util.concurrent.atomic.AtomicInteger generating = new java.util.concurrent.atomic.AtomicInteger();
    private static final long MIN_TAKEOVER_GRACE_MS = 8_000;
    private static final long MAX_TAKEOVER_GRACE_MS = 30_000;

    /** Session turns (null on a node without the chain) and the runtime holding their adapters. */
    private final SessionServing sessions;
    private final RuntimeService runtime;

    GenerationScheduler(PipelineContext ctx, Generator generator, Outcomes outcomes, FulfilmentSubmitter submitter) {
        this(ctx, generator, outcomes, submitter, null, null);
    }

    GenerationScheduler(PipelineContext ctx, Generator generator, Outcomes outcomes, FulfilmentSubmitter submitter,
                        SessionServing sessions, RuntimeService runtime) {
        this.sessions = sessions;
        this.runtime = runtime;
        this.ctx = ctx;
        this.generator = generator;
        this.outcomes = outcomes;
        this.submitter = submitter;
        this.generations = Counter.builder("loracle.generations").description("generations started").register(ctx.meters());
        this.tokensPerSecond = DistributionSummary.builder("loracle.generation.tokens.per.second").register(ctx.meters());
    }

    void schedule(Intake.Prepared p) {
        InferenceSpec spec = p.spec();
        GenerationRequest request = new GenerationRequest(p.prompt(), (int) Math.min(Integer.MAX_VALUE, spec.maxTokens()),
                spec.temperature() / 10_000f, spec.topP() / 10_000f, spec.seed().longValue());
        RebuiltHistory session = p.session();
        Generator.Job job = new Generator.Job(p.id(), spec.adapterSetKey(), p.adapters(), p.cids(), request,
                listener(p.id()), () -> beforeStart(p.id()), session == null ? null : session.promptTokens(), session != null);
        generating.incrementAndGet();
        generator.submit(job).whenComplete((result, error) -> {
            try {
                PipelineContext.withMdc(p.id(), () -> finished(p, result, error));
            } finally {
                generating.decrementAndGet();
            }
        });
    }

    /**
     * How long after another oracle's exclusive window this node waits before taking over its request: twice the recent
     * start-to-result time here, within 8..30 s. With generations sharing a batch, a request takes as long as the batch;
     * an assignee as busy as this node needs about that long, so taking over sooner would mostly generate twice. The
     * floor covers a cold start (a burst of requests before any generation here has finished and before the assignee
     * could end one on-chain, so neither the average nor the assignee's activity says anything yet).
     */
    long takeoverGraceMillis() {
        return Math.clamp(2 * recentGenerationMs.get(), MIN_TAKEOVER_GRACE_MS, MAX_TAKEOVER_GRACE_MS);
    }

    /**
     * Whether this node knows nothing yet of its own pace while it is busy: no generation has finished here and some are
     * under way. Then neither {@link #takeoverGraceMillis} nor another oracle's silence says anything (in a cold burst
     * every node is still on its first batch), so a silent assignee is not judged yet.
     */
    boolean busyWithoutPace() {
        return recentGenerationMs.get() == 0 && generating.get() > 0;
    }

    /** Journal FETCHING -> RUNNING if the request is still wanted; counts the generation. */
    private boolean beforeStart(String id) {
        try {
            JournalEntry e = ctx.journal().get(id);
            if (e.state() != RequestState.FETCHING && e.state() != RequestState.RUNNING) return false;
            if (outcomes.expireIfLate(e)) return false;
            if (ctx.mayBeServedElsewhere(e.spec()) && !ctx.chain().isPending(e.spec().requestId())) {
                outcomes.end(e, RequestState.CANCELLED, "no longer pending on-chain (served by another oracle or cancelled); not generated");
                return false;
            }
            if (e.state() == RequestState.FETCHING) ctx.journal().transition(id, RequestState.FETCHING, RequestState.RUNNING, null);
            generations.increment();
            return true;
        } catch (StaleStateException stale) {
            log.info("not started: {}", stale.getMessage());
            return false;
        } catch (RuntimeException rpcDown) {
            log.warn("not started this time ({}); the sweep retries", rpcDown.toString());
            return false;
        }
    }

    private TokenListener listener(String id) {
        GenerationEvents observer = outcomes.observer(id);
        StringBuilder partial = new StringBuilder();
        int[] count = {0};
        return (token, piece) -> {
            partial.append(piece);
            if (observer != null) observer.onToken(piece);
            if (++count[0] % 32 == 0) ctx.journal().recordPartialOutput(id, partial.toString(), count[0]);
        };
    }

    private void finished(Intake.Prepared p, GenerationResult result, Throwable error) {
        String id = p.id();
        boolean handedOn = false;
        try {
            if (error != null) {
                Throwable cause = error instanceof CompletionException ce && ce.getCause() != null ? ce.getCause() : error;
                if (!(cause instanceof Generator.NotStarted)) failed(id, cause);
                return;
            }
            JournalEntry e = ctx.journal().get(id);
            InferenceSpec spec = e.spec();
            String output = result.text();
            byte[] outputBytes = output.getBytes(StandardCharsets.UTF_8);
            BigInteger requestId = spec.origin() == RequestOrigin.CHAIN ? spec.requestId() : BigInteger.ZERO;
            String commitment = Numeric.toHexString(ResultCommitment.compute(requestId, Numeric.hexStringToByteArray(spec.modelId()),
                    ctx.model(), InferenceRequestConverter.toStructAdapters(spec.adapters()), spec.prompt(), spec.maxTokens(),
                    spec.temperature(), spec.topP(), spec.seed(), outputBytes));
            long genNanos = result.prefillNanos() + result.decodeNanos();
            if (e.timings().runStartedAt() != null) {
                long wall = Math.max(0, ctx.clock().millis() - e.timings().runStartedAt());
                recentGenerationMs.getAndUpdate(avg -> avg == 0 ? wall : (4 * avg + wall) / 5);
            }
            ctx.meters().timer("loracle.stage.latency", "stage", "generate").record(Duration.ofNanos(genNanos));
            if (p.session() != null) finishTurn(p, result, output);
            ctx.journal().recordResult(id, output, result.tokens().length, commitment, genNanos);
            if (genNanos > 0) tokensPerSecond.record(result.tokens().length * 1e9 / genNanos);
            if (spec.origin() == RequestOrigin.API) {
                JournalEntry delivered = ctx.journal().transition(id, RequestState.RUNNING, RequestState.CONFIRMED, null);
                outcomes.notifyDone(delivered);
                generator.release(id);
            } else {
                handedOn = true;
                submitter.submitLater(id, genNanos);
            }
        } catch (StaleStateException stale) {
            generator.release(id);
            log.info("stopped: {}", stale.getMessage());
        } catch (RuntimeException unexpected) {
            failed(id, unexpected);
        } finally {
            if (!handedOn) ctx.inFlight().end(id);
        }
    }

    /**
     * A session turn: its head and snapshot CID are journaled before its output (a crash in between regenerates it, as
     * any RUNNING request without an output), so the fulfilment sent, or re-sent after a restart, carries them.
     */
    private void finishTurn(Intake.Prepared p, GenerationResult result, String output) {
        ctx.meters().counter("loracle.session.turns.generated").increment();
        ctx.meters().counter("loracle.session.prompt.tokens.reused").increment(result.reusedPromptTokens());
        ctx.meters().counter("loracle.session.prompt.tokens.computed").increment(result.promptTokens() - result.reusedPromptTokens());
        List<AdapterWeight> held = runtime.hold(p.id(), p.spec().adapterSetKey(), p.adapters(), p.cids());
        sessions.finish(p.session(), p.spec(), output, held, runtime.attachMode());
    }

    private void failed(String id, Throwable cause) {
        generator.release(id);
        if (ctx.stopped().get()) {
            log.info("interrupted by shutdown; the journal keeps it in its state");
            return;
        }
        PipelineFailure f = classify(cause);
        if (f == null) {
            log.error("generation failed unexpectedly", cause);
            f = new PipelineFailure(FailureCode.INTERNAL_ERROR, "internal error while generating: " + cause);
        }
        try {
            outcomes.fail(id, f.code(), f.getMessage());
        } catch (RuntimeException e) {
            log.warn("failure not recorded this time ({}); the sweep retries", e.toString());
        }
    }

    /** The on-chain failure for an engine error, or null when it is not the request's fault. */
    static PipelineFailure classify(Throwable cause) {
        return switch (cause) {
            case PipelineFailure f -> f;
            case AdapterValidationException e -> new PipelineFailure(FailureCode.ADAPTER_INCOMPATIBLE, "adapters cannot be attached: " + e.getMessage());
            case RedLineExceededException e -> new PipelineFailure(FailureCode.RESOURCE_EXHAUSTED, "runtime memory red line: " + e.getMessage());
            case ContextOverflowException e -> new PipelineFailure(FailureCode.CONTEXT_OVERFLOW, e.getMessage());
            case IllegalArgumentException e -> new PipelineFailure(FailureCode.PROMPT_INVALID, "request rejected by the runtime: " + e.getMessage());
            default -> null;
        };
    }
}
