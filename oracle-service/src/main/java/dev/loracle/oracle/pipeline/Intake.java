package dev.loracle.oracle.pipeline;

import dev.loracle.contracts.FailureCode;
import dev.loracle.oracle.journal.InferenceSpec;
import dev.loracle.oracle.journal.JournalEntry;
import dev.loracle.oracle.journal.RequestOrigin;
import dev.loracle.oracle.journal.RequestState;
import dev.loracle.oracle.journal.StaleStateException;
import dev.loracle.oracle.runtime.RuntimeService;
import dev.loracle.oracle.session.RebuiltHistory;
import dev.loracle.oracle.session.SessionServing;
import dev.loracle.runtime.lora.WeightedAdapter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Stage 1: decides whether this node should serve a journaled request, then gets it ready on a pool of fetch threads
 * (so prompts are checked and adapters fetched for many requests in parallel) and hands it to the scheduler.
 * <ul>
 * <li>requests for a model this node does not run are left alone (CANCELLED locally, never failed on-chain);</li>
 * <li>a request assigned to another oracle waits for the end of its exclusive window, then is served only if it is
 *     still pending;</li>
 * <li>an IPFS outage on this node is retried (the request stays in its state) until the deadline margin; then, only if
 *     the request is assigned to this node, it is failed on-chain as DEADLINE_EXCEEDED (never ADAPTER_NOT_FOUND).</li>
 * </ul>
 */
final class Intake implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Intake.class);

    /**
     * A request whose prompt is checked and whose adapters are fetched and validated; {@code session} is the rebuilt
     * history of a session turn (null for an ordinary request).
     */
    record Prepared(String id, InferenceSpec spec, String prompt, List<WeightedAdapter> adapters, List<String> cids,
                    RebuiltHistory session) {
        Prepared(String id, InferenceSpec spec, String prompt, List<WeightedAdapter> adapters, List<String> cids) {
            this(id, spec, prompt, adapters, cids, null);
        }
    }

    private final PipelineContext ctx;
    private final AdapterService adapters;
    private final PromptRenderer prompts;
    private final Outcomes outcomes;
    private final GenerationScheduler scheduler;
    private final ScheduledExecutorService timers;
    private final ExecutorService fetchPool;
    /** Why the last fetch of an unfinished request failed for an outage (only requests still in flight or retried). */
    private final Map<String, String> outages = new ConcurrentHashMap<>();

    /** Session turns: planning, waiting and KV preparation; null on a node without the chain. */
    private final SessionServing sessions;
    private final RuntimeService runtime;

    Intake(PipelineContext ctx, AdapterService adapters, PromptRenderer prompts, Outcomes outcomes,
           GenerationScheduler scheduler, ScheduledExecutorService timers, SessionServing sessions, RuntimeService runtime) {
        this.sessions = sessions;
        this.runtime = runtime;
        this.ctx = ctx;
        this.adapters = adapters;
        this.prompts = prompts;
        this.outcomes = outcomes;
        this.scheduler = scheduler;
        this.timers = timers;
        this.fetchPool = Executors.newFixedThreadPool(ctx.cfg().fetchThreads(), Thread.ofPlatform().name("fetch-", 0).daemon().factory());
    }

    /** Starts preparing {@code id} unless it is in flight already; false when the node is at its limit (the sweep retries). */
    boolean dispatch(String id) {
        if (!ctx.accepting().get() || ctx.stopped().get()) return false;
        if (sessions != null && sessions.gate().isParked(id)) return true; // woken by the end of an earlier turn
        if (ctx.inFlight().size() >= ctx.cfg().queueCapacity() + ctx.cfg().fetchThreads()) {
            ctx.meters().counter("loracle.backpressure").increment();
            return false; // the journal holds it; the sweep dispatches it when there is room
        }
        if (!ctx.inFlight().begin(id)) return true;
        try {
            fetchPool.execute(() -> PipelineContext.withMdc(id, () -> prepare(id)));
        } catch (RuntimeException rejected) {
            ctx.inFlight().end(id);
            return false;
        }
        return true;
    }

    private void prepare(String id) {
        boolean handedOn = false;
        try {
            JournalEntry e = ctx.journal().get(id);
            InferenceSpec spec = e.spec();
            String prompt = null;
            SessionServing.Plan plan = null;
            switch (e.state()) {
                case RECEIVED -> {
                    if (endIfLate(e)) return;
                    if (spec.origin() == RequestOrigin.CHAIN && !ctx.serves(spec.modelId())) {
                        outcomes.end(e, RequestState.CANCELLED, "model " + spec.modelId() + " is not served by this node (it serves "
                                + ctx.servedModelIds() + "); left to the oracles that run it");
                        return;
                    }
                    if (deferredToAssignedOracle(e)) return;
                    if (spec.origin() == RequestOrigin.CHAIN && !ctx.chain().isPending(spec.requestId())) {
                        outcomes.end(e, RequestState.CANCELLED, "no longer pending on-chain (served by another oracle or cancelled)");
                        return;
                    }
                    plan = plan(e); // a session turn: refused (CHAT, too long) or parked before anything else
                    if (plan.waiting()) return;
                    prompt = prompts.render(spec); // checked before anything is fetched
                    e = ctx.journal().transition(id, RequestState.RECEIVED, RequestState.FETCHING, null);
                }
                case FETCHING, RUNNING -> {
                    if (endIfLate(e)) return;
                }
                default -> {
                    return;
                }
            }
            if (prompt == null) prompt = prompts.render(spec);
            if (plan == null) plan = plan(e);
            if (plan.waiting()) return; // a restart in FETCHING cannot wait (its turns ended), but be safe
            long t0 = System.nanoTime();
            List<WeightedAdapter> loaded = adapters.load(spec);
            ctx.meters().timer("loracle.stage.latency", "stage", "fetch").record(Duration.ofNanos(System.nanoTime() - t0));
            outages.remove(id);
            Prepared prepared = new Prepared(id, spec, prompt, loaded, AdapterService.cidStrings(spec), plan.history());
            if (prepared.session() != null) prepareSessionKv(prepared);
            scheduler.schedule(prepared);
            handedOn = true;
        } catch (SessionServing.TurnRefused refused) {
            outcomes.fail(id, refused.code(), refused.getMessage());
        } catch (PipelineFailure f) {
            outcomes.fail(id, f.code(), f.getMessage());
        } catch (AdaptersUnavailableException outage) {
            outages.put(id, outage.getMessage());
            ctx.meters().counter("loracle.ipfs.outage.retries").increment();
            log.warn("adapters not fetched this time, retrying until the deadline: {}", outage.getMessage());
        } catch (StaleStateException stale) {
            log.debug("skipped: {}", stale.getMessage());
        } catch (RuntimeException transientError) {
            // RPC outage or the like: the request stays journaled in its state; the sweep retries it
            log.warn("request not prepared this time: {}", transientError.toString());
        } finally {
            if (!handedOn) ctx.inFlight().end(id);
        }
    }

    private SessionServing.Plan plan(JournalEntry e) {
        if (sessions == null || e.spec().origin() != RequestOrigin.CHAIN) return SessionServing.Plan.PLAIN_REQUEST;
        return sessions.plan(e, runtime.contextLength());
    }

    /**
     * Holds the turn's adapters now (the generator's hold returns these same references) so that the KV rows of its
     * history can be made resident for exactly this adapter set before it is queued.
     */
    private void prepareSessionKv(Prepared p) {
        List<dev.loracle.runtime.engine.AdapterWeight> held;
        try {
            held = runtime.hold(p.id(), p.spec().adapterSetKey(), p.adapters(), p.cids());
        } catch (RuntimeException refused) { // the generator's own hold fails the same way, and classifies it
            return;
        }
        sessions.prepareKv(p.session(), p.spec(), held, runtime.attachMode());
    }

    /**
     * Ends a request whose deadline margin has come. After an IPFS outage on this node, a request assigned to this node
     * is failed on-chain (the consumer is refunded at once); one assigned to another oracle is only expired locally.
     */
    private boolean endIfLate(JournalEntry e) {
        String outage = outages.get(e.id());
        long deadline = e.spec().deadline();
        boolean late = deadline != 0 && ctx.clock().millis() + ctx.cfg().deadlineMargin().toMillis() >= deadline * 1000;
        if (late && outage != null && assignedToUs(e.spec())) {
            outages.remove(e.id());
            outcomes.fail(e.id(), FailureCode.DEADLINE_EXCEEDED, "adapters could not be fetched before the deadline: " + outage);
            return true;
        }
        if (late) outages.remove(e.id());
        return outcomes.expireIfLate(e);
    }

    private boolean assignedToUs(InferenceSpec s) {
        return s.origin() == RequestOrigin.CHAIN && s.assignedOracle() != null
                && s.assignedOracle().equalsIgnoreCase(ctx.chain().oracleAddress());
    }

    /**
     * A request assigned to another oracle is left to it until its exclusive window ends, plus the time a generation
     * takes here ({@link GenerationScheduler#takeoverGraceMillis}). After that it is still
     * left to it while that oracle shows life on-chain (it ended a request within {@link #ASSIGNED_ALIVE_MILLIS}) and
     * the request is pending, until half the time between the window's end and the deadline margin has passed: a busy
     * oracle serves its own backlog, a dead one is replaced right after the window. A silent assignee is not judged
     * while this node is busy on its first generations ({@link GenerationScheduler#busyWithoutPace}): in a cold burst
     * no oracle has ended anything yet, so silence then says nothing. No coordination between nodes is
     * needed; the price of a wrong guess is one duplicate generation (the coordinator accepts one fulfilment).
     */
    private boolean deferredToAssignedOracle(JournalEntry e) {
        InferenceSpec s = e.spec();
        if (s.origin() != RequestOrigin.CHAIN || s.assignedOracle() == null || assignedToUs(s)) return false;
        long now = ctx.clock().millis();
        long windowEnd = s.exclusiveUntil() * 1000 + 1000 + scheduler.takeoverGraceMillis();
        long waitMs = windowEnd - now;
        if (waitMs <= 0) {
            long lastCall = s.deadline() == 0 ? Long.MAX_VALUE
                    : windowEnd + (s.deadline() * 1000 - ctx.cfg().deadlineMargin().toMillis() - windowEnd) / 2;
            boolean assigneeSilent = !ctx.chain().oracleActivity().activeWithin(s.assignedOracle(), now, ASSIGNED_ALIVE_MILLIS);
            if (now >= lastCall || (assigneeSilent && !scheduler.busyWithoutPace()) || !ctx.chain().isPending(s.requestId())) {
                return false;
            }
            waitMs = Math.min(lastCall - now, RECHECK_MILLIS);
            ctx.meters().counter("loracle.takeover.deferred").increment();
        }
        log.debug("assigned to oracle {} until {}; looking again in {} ms", s.assignedOracle(), s.exclusiveUntil(), waitMs);
        timers.schedule(() -> dispatch(e.id()), waitMs, TimeUnit.MILLISECONDS);
        return true;
    }

    /** An assigned oracle that ended a request on-chain this recently is taken to be alive. */
    static final long ASSIGNED_ALIVE_MILLIS = 30_000;
    /** How often a request left to a live assigned oracle is looked at again (one isPending call each time). */
    private static final long RECHECK_MILLIS = 2_000;

    /** Unfinished requests with an outage on record (for the health page). */
    int outageCount() {
        return outages.size();
    }

    void forget(String id) {
        outages.remove(id);
    }

    @Override
    public void close() {
        fetchPool.shutdownNow();
    }
}
