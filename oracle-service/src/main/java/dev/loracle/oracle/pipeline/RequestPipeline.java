package dev.loracle.oracle.pipeline;

import dev.loracle.contracts.ResultCommitment.ModelBinding;
import dev.loracle.oracle.chain.CoordinatorClient;
import dev.loracle.oracle.config.OracleProperties;
import dev.loracle.oracle.journal.JournalEntry;
import dev.loracle.oracle.journal.RequestJournal;
import dev.loracle.oracle.journal.RequestState;
import dev.loracle.oracle.journal.TxJournal;
import dev.loracle.oracle.runtime.RuntimeService;
import dev.loracle.oracle.session.SessionServing;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The request pipeline, driven entirely by journal states so that a restart resumes every request where it stopped:
 * <pre>
 * RECEIVED --{@link Intake} (fetch pool)--> FETCHING --{@link GenerationScheduler} + {@link Generator}--> RUNNING
 *   --{@link FulfilmentSubmitter}--> SUBMITTED --{@link ConfirmationTracker}--> CONFIRMED --adapters released--> UNLOADED
 * </pre>
 * Any classified failure goes to FAILED and, for on-chain requests, a reportFailure tx ({@link Outcomes}). The
 * {@link RecoverySweep} re-dispatches whatever the journal says is unfinished and not in flight. This class wires the
 * parts and is what the rest of the node talks to.
 */
public class RequestPipeline implements RequestIntake, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RequestPipeline.class);

    private final PipelineContext ctx;
    private final Generator generator;
    private final Outcomes outcomes;
    private final Intake intake;
    private final FulfilmentSubmitter submitter;
    private final RecoverySweep sweep;
    private final ScheduledExecutorService timers;
    private final SessionServing sessions;

    /**
     * @param servedModelIds on-chain model ids this node serves (bytes32 hex); requests for other models are left alone
     */
    public RequestPipeline(RequestJournal journal, TxJournal txJournal, AdapterService adapters, RuntimeService runtime,
                           PromptRenderer prompts, Generator generator, CoordinatorClient chain, ModelBinding model,
                           Set<String> servedModelIds, OracleProperties.Scheduler cfg, Clock clock, MeterRegistry meters) {
        this(journal, txJournal, adapters, runtime, prompts, generator, chain, model, servedModelIds, cfg, clock, meters, null);
    }

    /** @param sessions how session turns are served; null = no sessions (an off-chain node) */
    public RequestPipeline(RequestJournal journal, TxJournal txJournal, AdapterService adapters, RuntimeService runtime,
                           PromptRenderer prompts, Generator generator, CoordinatorClient chain, ModelBinding model,
                           Set<String> servedModelIds, OracleProperties.Scheduler cfg, Clock clock, MeterRegistry meters,
                           SessionServing sessions) {
        this.sessions = sessions;
        this.ctx = new PipelineContext(journal, txJournal, chain, model, servedModelIds, cfg, clock, meters, new InFlight(),
                new AtomicBoolean(true), new AtomicBoolean(false));
        this.generator = generator;
        this.timers = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("pipeline-sweep").daemon().factory());
        this.outcomes = new Outcomes(ctx);
        this.submitter = new FulfilmentSubmitter(ctx, generator, outcomes, sessions);
        GenerationScheduler scheduler = new GenerationScheduler(ctx, generator, outcomes, submitter, sessions, runtime);
        this.intake = new Intake(ctx, adapters, prompts, outcomes, scheduler, timers, sessions, runtime);
        if (sessions != null) sessions.gate().dispatchTo(id -> PipelineContext.withMdc(id, () -> intake.dispatch(id)));
        ConfirmationTracker confirmations = new ConfirmationTracker(ctx, generator, submitter);
        submitter.confirmationsTo(confirmations);
        this.sweep = new RecoverySweep(ctx, intake, submitter, outcomes, confirmations, generator::resident);
        meters.gauge("loracle.requests.in.flight", ctx.inFlight().view(), java.util.Map::size);
        runtime.setUnloadListener(confirmations);
        if (chain != null) chain.transactions().addListener(confirmations);
    }

    /** Starts the sweep; the first sweep is the restart recovery. */
    public void start() {
        timers.scheduleWithFixedDelay(sweep, 0, 500, TimeUnit.MILLISECONDS);
    }

    public boolean accepting() {
        return ctx.accepting().get();
    }

    public int queueDepth() {
        return generator.queued();
    }

    public int inFlight() {
        return ctx.inFlight().size();
    }

    /** Overhead samples (request picked up -> fulfil tx sent, minus generation) since the last call, in ns. */
    public List<Long> drainOverheadSamples() {
        return submitter.drainOverheadSamples();
    }

    /** Stop taking new work (admin drain); in-flight requests finish. */
    public void drain() {
        ctx.accepting().set(false);
        log.info("draining: no new requests are started; {} in flight", ctx.inFlight().size());
    }

    public void resume() {
        ctx.accepting().set(true);
    }

    @Override
    public void requestJournaled(String requestId) {
        intake.dispatch(requestId);
    }

    /** Registers an observer (API streaming) and dispatches an API request that was just journaled. */
    public void startApiRequest(String requestId, GenerationEvents events) {
        outcomes.observe(requestId, events);
        if (!intake.dispatch(requestId)) log.debug("API request {} queued behind the backlog", requestId);
    }

    public void forgetObserver(String requestId) {
        outcomes.forget(requestId);
    }

    @Override
    public void sessionTurnEnded(String sessionId) {
        if (sessions != null) sessions.gate().turnEnded(sessionId);
    }

    @Override
    public void requestWithdrawn(String requestId, String reason) {
        intake.forget(requestId);
        PipelineContext.withMdc(requestId, () -> ctx.journal().find(requestId).ifPresent(e -> {
            if (e.state() == RequestState.RECEIVED || e.state() == RequestState.FETCHING || e.state() == RequestState.RUNNING) {
                outcomes.end(e, RequestState.CANCELLED, reason);
            }
        }));
    }

    /** Admin retry: FAILED / EXPIRED -> RECEIVED, then dispatch. */
    public JournalEntry retry(String requestId) {
        JournalEntry e = ctx.journal().get(requestId);
        JournalEntry retried = ctx.journal().transition(requestId, e.state(), RequestState.RECEIVED, "retried by operator");
        intake.dispatch(requestId);
        return retried;
    }

    /** Graceful: stop intake, let the current generation and sends finish (bounded), leave the journal as checkpoint. */
    @Override
    public void close() {
        if (!ctx.stopped().compareAndSet(false, true)) return;
        ctx.accepting().set(false);
        timers.shutdownNow();
        intake.close();
        generator.close();
        submitter.close();
        log.info("pipeline stopped; unfinished requests resume from the journal on the next start");
    }
}
