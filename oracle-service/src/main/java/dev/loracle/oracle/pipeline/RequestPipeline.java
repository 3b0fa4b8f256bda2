package dev.loracle.oracle.pipeline;

import dev.loracle.contracts.FailureCode;
import dev.loracle.contracts.ResultCommitment;
import dev.loracle.oracle.chain.CoordinatorClient;
import dev.loracle.oracle.chain.InferenceRequestConverter;
import dev.loracle.oracle.chain.RpcErrorException;
import dev.loracle.oracle.chain.TxOutcomeListener;
import dev.loracle.oracle.config.OracleProperties;
import dev.loracle.oracle.journal.InferenceSpec;
import dev.loracle.oracle.journal.JournalEntry;
import dev.loracle.oracle.journal.RequestJournal;
import dev.loracle.oracle.journal.RequestOrigin;
import dev.loracle.oracle.journal.RequestState;
import dev.loracle.oracle.journal.StaleStateException;
import dev.loracle.oracle.journal.TxJournal;
import dev.loracle.oracle.journal.TxRecord;
import dev.loracle.oracle.runtime.RuntimeService;
import dev.loracle.runtime.engine.ContextOverflowException;
import dev.loracle.runtime.engine.GenerationRequest;
import dev.loracle.runtime.engine.GenerationResult;
import dev.loracle.runtime.lora.AdapterValidationException;
import dev.loracle.runtime.lora.WeightedAdapter;
import dev.loracle.runtime.memory.RedLineExceededException;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.web3j.utils.Numeric;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The request pipeline, driven entirely by journal states so that a restart resumes every request where it stopped:
 * <pre>
 * RECEIVED --fetch pool--> FETCHING --(bounded ready queue)--> runtime thread: RUNNING --submit thread--> SUBMITTED
 *   --tx manager (confirmations)--> CONFIRMED --adapters detached--> UNLOADED
 * </pre>
 * Any classified failure goes to FAILED and, for on-chain requests, a reportFailure tx (refund). The runtime thread groups
 * queued requests by adapter set so one attachment serves several of them. A periodic sweep re-dispatches whatever the
 * journal says is unfinished and not in flight (restart recovery, backpressure overflow, RPC outages).
 */
public class RequestPipeline implements RequestIntake, TxOutcomeListener, RuntimeService.UnloadListener, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RequestPipeline.class);

    /** A request whose adapters are fetched and validated, waiting for the runtime. */
    record ReadyJob(String id, String key, List<WeightedAdapter> adapters, List<String> cids, long eventSeenNanos) {
    }

    private final RequestJournal journal;
    private final TxJournal txJournal;
    private final AdapterService adapters;
    private final RuntimeService runtime;
    private final CoordinatorClient chain; // null when the node runs without a chain
    private final byte[] weightsHash;
    private final OracleProperties.Scheduler cfg;
    private final Clock clock;
    private final MeterRegistry meters;

    private final LinkedBlockingDeque<ReadyJob> ready;
    private final Set<String> inFlight = ConcurrentHashMap.newKeySet();
    private final Set<String> reporting = ConcurrentHashMap.newKeySet();
    private final Map<String, GenerationEvents> observers = new ConcurrentHashMap<>();
    private final Map<String, Long> seenNanos = new ConcurrentHashMap<>();
    private final ExecutorService fetchPool;
    private final ExecutorService submitPool;
    private final ScheduledExecutorService timers;
    private final Thread runtimeThread;
    private final AtomicBoolean accepting = new AtomicBoolean(true);
    private final AtomicBoolean stopped = new AtomicBoolean(false);
    private final AtomicLong generationRunning = new AtomicLong();
    private final Timer overhead;
    /** The last overhead samples (ns), for benchmarks that must exclude warm-up; the Timer keeps the full history. */
    private final java.util.concurrent.ConcurrentLinkedDeque<Long> recentOverhead = new java.util.concurrent.ConcurrentLinkedDeque<>();
    private final DistributionSummary tokensPerSecond;

    public RequestPipeline(RequestJournal journal, TxJournal txJournal, AdapterService adapters, RuntimeService runtime,
                           CoordinatorClient chain, byte[] weightsHash, OracleProperties.Scheduler cfg, Clock clock,
                           MeterRegistry meters) {
        this.journal = journal;
        this.txJournal = txJournal;
        this.adapters = adapters;
        this.runtime = runtime;
        this.chain = chain;
        this.weightsHash = weightsHash.clone();
        this.cfg = cfg;
        this.clock = clock;
        this.meters = meters;
        this.ready = new LinkedBlockingDeque<>(cfg.queueCapacity());
        this.fetchPool = Executors.newFixedThreadPool(cfg.fetchThreads(), Thread.ofPlatform().name("fetch-", 0).daemon().factory());
        this.submitPool = Executors.newSingleThreadExecutor(Thread.ofPlatform().name("submit").daemon().factory());
        this.timers = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("pipeline-sweep").daemon().factory());
        this.runtimeThread = Thread.ofPlatform().name("runtime").daemon().unstarted(this::runtimeLoop);
        meters.gaugeCollectionSize("loracle.queue.depth", List.of(), ready);
        meters.gaugeCollectionSize("loracle.requests.in.flight", List.of(), inFlight);
        this.overhead = Timer.builder("loracle.oracle.overhead").description("event seen -> fulfil tx sent, minus generation")
                .publishPercentiles(0.5, 0.99).register(meters);
        this.tokensPerSecond = DistributionSummary.builder("loracle.generation.tokens.per.second").register(meters);
        runtime.setUnloadListener(this);
        if (chain != null) chain.transactions().addListener(this);
    }

    /** Starts the workers and the sweep; the first sweep is the restart recovery. */
    public void start() {
        runtimeThread.start();
        timers.scheduleWithFixedDelay(this::sweep, 0, 500, TimeUnit.MILLISECONDS);
    }

    public boolean accepting() {
        return accepting.get();
    }

    public int queueDepth() {
        return ready.size();
    }

    /** Overhead samples (event journaled -> fulfil tx sent, minus generation) since the last call, in ns. */
    public List<Long> drainOverheadSamples() {
        List<Long> out = new ArrayList<>();
        for (Long v; (v = recentOverhead.pollFirst()) != null; ) out.add(v);
        return out;
    }

    public int inFlight() {
        return inFlight.size();
    }

    /** Stop taking new work (admin drain); in-flight requests finish. */
    public void drain() {
        accepting.set(false);
        log.info("draining: no new requests are started; {} in flight", inFlight.size());
    }

    public void resume() {
        accepting.set(true);
    }

    // ------------------------------------------------------------------ intake

    @Override
    public void requestJournaled(String requestId) {
        seenNanos.putIfAbsent(requestId, System.nanoTime());
        dispatch(requestId);
    }

    /** Registers an observer (API streaming) and dispatches an API request that was just journaled. */
    public void startApiRequest(String requestId, GenerationEvents events) {
        observers.put(requestId, events);
        seenNanos.putIfAbsent(requestId, System.nanoTime());
        if (!dispatch(requestId)) {
            log.debug("API request {} queued behind the backlog", requestId);
        }
    }

    public void forgetObserver(String requestId) {
        observers.remove(requestId);
    }

    @Override
    public void requestWithdrawn(String requestId, String reason) {
        withMdc(requestId, () -> journal.find(requestId).ifPresent(e -> {
            if (e.state() == RequestState.RECEIVED || e.state() == RequestState.FETCHING || e.state() == RequestState.RUNNING) {
                end(e, RequestState.CANCELLED, reason);
            }
        }));
    }

    /** Admin retry: FAILED / EXPIRED -> RECEIVED, then dispatch. */
    public JournalEntry retry(String requestId) {
        JournalEntry e = journal.get(requestId);
        JournalEntry retried = journal.transition(requestId, e.state(), RequestState.RECEIVED, "retried by operator");
        dispatch(requestId);
        return retried;
    }

    private boolean dispatch(String id) {
        if (!accepting.get() || stopped.get()) return false;
        if (inFlight.size() >= cfg.queueCapacity() + cfg.fetchThreads()) {
            meters.counter("loracle.backpressure").increment();
            return false; // the journal holds it; the sweep dispatches it when there is room
        }
        if (!inFlight.add(id)) return true;
        try {
            fetchPool.execute(() -> withMdc(id, () -> prepare(id)));
        } catch (RuntimeException rejected) {
            inFlight.remove(id);
            return false;
        }
        return true;
    }

    // ------------------------------------------------------------------ stage 1: checks + fetch

    private void prepare(String id) {
        boolean handedOn = false;
        try {
            JournalEntry e = journal.get(id);
            InferenceSpec spec = e.spec();
            switch (e.state()) {
                case RECEIVED -> {
                    if (expired(e)) return;
                    if (deferredToAssignedOracle(e)) return;
                    if (spec.origin() == RequestOrigin.CHAIN && !chain.isPending(spec.requestId())) {
                        end(e, RequestState.CANCELLED, "no longer pending on-chain (served by another oracle or cancelled)");
                        return;
                    }
                    validatePrompt(spec);
                    e = journal.transition(id, RequestState.RECEIVED, RequestState.FETCHING, null);
                }
                case FETCHING, RUNNING -> {
                    if (expired(e)) return;
                }
                default -> {
                    return;
                }
            }
            long t0 = System.nanoTime();
            List<WeightedAdapter> loaded = adapters.load(spec);
            meters.timer("loracle.stage.latency", "stage", "fetch").record(Duration.ofNanos(System.nanoTime() - t0));
            ReadyJob job = new ReadyJob(id, spec.adapterSetKey(), loaded, AdapterService.cidStrings(spec),
                    seenNanos.getOrDefault(id, System.nanoTime()));
            while (!ready.offer(job, 1, TimeUnit.SECONDS)) { // backpressure: the fetch threads wait for the runtime
                if (stopped.get()) return;
            }
            handedOn = true;
        } catch (PipelineFailure f) {
            failRequest(id, f.code(), f.getMessage());
        } catch (StaleStateException stale) {
            log.debug("skipped: {}", stale.getMessage());
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException transientError) {
            // RPC or IPFS outage: the request stays journaled in its state; the sweep retries it
            log.warn("request not prepared this time: {}", transientError.toString());
        } finally {
            if (!handedOn) inFlight.remove(id);
        }
    }

    private boolean expired(JournalEntry e) {
        long deadline = e.spec().deadline();
        if (deadline == 0) return false;
        long nowMs = clock.millis();
        if (nowMs + cfg.deadlineMargin().toMillis() >= deadline * 1000) {
            end(e, RequestState.EXPIRED, "deadline " + deadline + " cannot be met (now " + nowMs / 1000 + ")");
            return true;
        }
        return false;
    }

    /** Multi-oracle: a request assigned to another oracle is left to it until its exclusive window ends. */
    private boolean deferredToAssignedOracle(JournalEntry e) {
        InferenceSpec s = e.spec();
        if (s.origin() != RequestOrigin.CHAIN || s.assignedOracle() == null) return false;
        if (s.assignedOracle().equalsIgnoreCase(chain.oracleAddress())) return false;
        long waitMs = s.exclusiveUntil() * 1000 + 1000 - clock.millis();
        if (waitMs <= 0) return false;
        log.info("assigned to oracle {} until {}; looking again then", s.assignedOracle(), s.exclusiveUntil());
        timers.schedule(() -> dispatch(e.id()), waitMs, TimeUnit.MILLISECONDS);
        return true;
    }

    /** Prompt checks before any fetch: UTF-8, fits the context alone (else PROMPT_INVALID), fits with maxTokens (else CONTEXT_OVERFLOW). */
    private void validatePrompt(InferenceSpec spec) {
        byte[] prompt = spec.prompt();
        if (prompt.length == 0) throw new PipelineFailure(FailureCode.PROMPT_INVALID, "prompt is empty");
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(prompt));
        } catch (CharacterCodingException e) {
            throw new PipelineFailure(FailureCode.PROMPT_INVALID, "prompt is not valid UTF-8: " + e.getMessage());
        }
        if (spec.maxTokens() < 1) throw new PipelineFailure(FailureCode.PROMPT_INVALID, "maxTokens must be >= 1");
        int context = runtime.contextLength();
        int promptTokens = runtime.promptTokens(spec.promptText());
        if (promptTokens >= context) {
            throw new PipelineFailure(FailureCode.PROMPT_INVALID, "prompt is " + promptTokens
                    + " tokens; the model's context is " + context + " tokens");
        }
        if (promptTokens + spec.maxTokens() > context) {
            throw new PipelineFailure(FailureCode.CONTEXT_OVERFLOW, "prompt of " + promptTokens + " tokens + maxTokens "
                    + spec.maxTokens() + " exceeds the model's context of " + context + " tokens (at most "
                    + (context - promptTokens) + " new tokens fit)");
        }
    }

    // ------------------------------------------------------------------ stage 2: the runtime (one thread)

    private void runtimeLoop() {
        while (!stopped.get()) {
            ReadyJob first;
            try {
                first = ready.poll(200, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
            if (first == null) {
                runtime.detachIfIdle(this::queuedWants);
                continue;
            }
            List<ReadyJob> group = takeGroup(first);
            for (ReadyJob job : group) {
                if (stopped.get()) return;
                withMdc(job.id(), () -> run(job));
            }
        }
    }

    /** The first job plus queued jobs with the same adapter set (served by one attachment). */
    private List<ReadyJob> takeGroup(ReadyJob first) {
        List<ReadyJob> group = new ArrayList<>();
        group.add(first);
        for (Iterator<ReadyJob> it = ready.iterator(); it.hasNext() && group.size() < cfg.maxGroupSize(); ) {
            ReadyJob j = it.next();
            if (j.key().equals(first.key()) && ready.removeFirstOccurrence(j)) group.add(j);
        }
        if (group.size() > 1) meters.counter("loracle.scheduler.grouped").increment(group.size() - 1);
        return group;
    }

    /** Whether a queued job (or the one running) still needs adapter set {@code key}. */
    private boolean queuedWants(String key) {
        for (ReadyJob j : ready) if (j.key().equals(key)) return true;
        return false;
    }

    private void run(ReadyJob job) {
        boolean handedOn = false;
        try {
            JournalEntry e = journal.get(job.id());
            if (e.state() == RequestState.FETCHING) {
                if (expired(e)) return;
                e = journal.transition(job.id(), RequestState.FETCHING, RequestState.RUNNING, null);
            } else if (e.state() != RequestState.RUNNING) {
                return;
            }
            InferenceSpec spec = e.spec();
            try {
                runtime.attach(job.key(), job.adapters(), job.cids(), job.id());
            } catch (AdapterValidationException incompatible) {
                throw new PipelineFailure(FailureCode.ADAPTER_INCOMPATIBLE, "adapters cannot be attached: " + incompatible.getMessage());
            } catch (RedLineExceededException full) {
                throw new PipelineFailure(FailureCode.RESOURCE_EXHAUSTED, "runtime memory red line: " + full.getMessage());
            }
            GenerationResult result = generate(spec, job.id());
            String output = result.text();
            byte[] outputBytes = output.getBytes(StandardCharsets.UTF_8);
            String commitment = Numeric.toHexString(ResultCommitment.compute(weightsHash,
                    InferenceRequestConverter.toStructAdapters(spec.adapters()), spec.maxTokens(),
                    spec.temperature(), spec.topP(), spec.seed(), outputBytes));
            long genNanos = result.prefillNanos() + result.decodeNanos();
            journal.recordResult(job.id(), output, result.tokens().length, commitment, genNanos);
            if (genNanos > 0) tokensPerSecond.record(result.tokens().length * 1e9 / genNanos);
            generationRunning.set(genNanos);
            if (spec.origin() == RequestOrigin.API) {
                JournalEntry delivered = journal.transition(job.id(), RequestState.RUNNING, RequestState.CONFIRMED, null);
                notifyDone(delivered);
                runtime.release(job.id(), this::queuedWants);
            } else {
                handedOn = true;
                submitPool.execute(() -> withMdc(job.id(), () -> submit(job.id(), job.eventSeenNanos(), genNanos)));
            }
        } catch (PipelineFailure f) {
            runtime.release(job.id(), this::queuedWants);
            failRequest(job.id(), f.code(), f.getMessage());
        } catch (StaleStateException stale) {
            runtime.release(job.id(), this::queuedWants);
            log.info("stopped: {}", stale.getMessage());
        } catch (RuntimeException unexpected) {
            runtime.release(job.id(), this::queuedWants);
            if (stopped.get()) {
                log.info("interrupted by shutdown; the journal keeps it in its state");
            } else {
                log.error("generation failed unexpectedly", unexpected);
                failRequest(job.id(), FailureCode.INTERNAL_ERROR, "internal error while generating: " + unexpected);
            }
        } finally {
            if (!handedOn) {
                inFlight.remove(job.id());
                seenNanos.remove(job.id());
            }
        }
    }

    private GenerationResult generate(InferenceSpec spec, String id) {
        GenerationEvents observer = observers.get(id);
        StringBuilder partial = new StringBuilder();
        int[] count = {0};
        long t0 = System.nanoTime();
        try {
            GenerationResult r = runtime.generate(spec.adapterSetKey(),
                    new GenerationRequest(spec.promptText(), (int) Math.min(Integer.MAX_VALUE, spec.maxTokens()),
                            spec.temperature() / 10_000f, spec.topP() / 10_000f, spec.seed().longValue()),
                    (token, piece) -> {
                        partial.append(piece);
                        if (observer != null) observer.onToken(piece);
                        if (++count[0] % 32 == 0) journal.recordPartialOutput(id, partial.toString(), count[0]);
                    });
            meters.timer("loracle.stage.latency", "stage", "generate").record(Duration.ofNanos(System.nanoTime() - t0));
            return r;
        } catch (ContextOverflowException overflow) {
            throw new PipelineFailure(FailureCode.CONTEXT_OVERFLOW, overflow.getMessage());
        } catch (RedLineExceededException full) {
            throw new PipelineFailure(FailureCode.RESOURCE_EXHAUSTED, "runtime memory red line: " + full.getMessage());
        } catch (IllegalArgumentException bad) {
            throw new PipelineFailure(FailureCode.PROMPT_INVALID, "request rejected by the runtime: " + bad.getMessage());
        }
    }

    // ------------------------------------------------------------------ stage 3: submit

    private void submit(String id, long eventSeenNanos, long genNanos) {
        try {
            JournalEntry e = journal.get(id);
            InferenceSpec spec = e.spec();
            if (e.state() != RequestState.RUNNING && e.state() != RequestState.SUBMITTED) return;
            if (e.state() == RequestState.SUBMITTED && hasOpenTx(id, TxRecord.TxKind.FULFIL)) return;
            if (expired(e)) {
                runtime.release(id, this::queuedWants);
                return;
            }
            if (!chain.isPending(spec.requestId())) {
                if (e.state() == RequestState.SUBMITTED && alreadyFulfilledByUs(id)) return;
                runtime.release(id, this::queuedWants);
                end(e, RequestState.CANCELLED, "no longer pending on-chain (served by another oracle or cancelled); not sent");
                return;
            }
            if (e.state() == RequestState.RUNNING) {
                e = journal.transition(id, RequestState.RUNNING, RequestState.SUBMITTED, null);
            }
            TxRecord tx;
            try {
                tx = chain.fulfil(spec, e.output().getBytes(StandardCharsets.UTF_8), Numeric.hexStringToByteArray(e.resultCommitment()));
            } catch (RpcErrorException reverted) {
                handleFulfilRejected(e, reverted.getMessage());
                return;
            }
            journal.recordTx(id, tx.txHash(), tx.kind().name());
            if (eventSeenNanos > 0) {
                long total = System.nanoTime() - eventSeenNanos;
                long sample = Math.max(0, total - genNanos);
                overhead.record(Duration.ofNanos(sample));
                recentOverhead.addLast(sample);
                while (recentOverhead.size() > 10_000) recentOverhead.pollFirst();
            }
        } catch (StaleStateException stale) {
            log.info("submit skipped: {}", stale.getMessage());
        } catch (RuntimeException transientError) {
            log.warn("fulfil not sent this time ({}); the sweep retries", transientError.toString());
        } finally {
            inFlight.remove(id);
            seenNanos.remove(id);
        }
    }

    private void handleFulfilRejected(JournalEntry e, String why) {
        runtime.release(e.id(), this::queuedWants);
        if (!chain.isPending(e.spec().requestId())) {
            end(e, RequestState.CANCELLED, "fulfil rejected, request no longer pending: " + why);
        } else if (e.spec().deadline() != 0 && clock.millis() / 1000 > e.spec().deadline()) {
            end(e, RequestState.EXPIRED, "deadline passed before fulfil: " + why);
        } else {
            failRequest(e.id(), FailureCode.INTERNAL_ERROR, "fulfil rejected by the coordinator: " + why);
        }
    }

    /** One of our earlier fulfil txs for this request is mined successfully (e.g. tracked as superseded in a race). */
    private boolean alreadyFulfilledByUs(String id) {
        for (TxRecord tx : txJournal.forRequest(id)) {
            if (tx.kind() != TxRecord.TxKind.FULFIL) continue;
            var receipt = chain.transactions().findReceipt(tx);
            if (receipt.isPresent() && receipt.get().isStatusOK()) {
                txJournal.setStatus(tx.id(), TxRecord.TxStatus.CONFIRMED);
                log.info("fulfil tx {} found mined; completing from it", receipt.get().getTransactionHash());
                onFinal(txJournal.get(tx.id()), true);
                return true;
            }
        }
        return false;
    }

    private boolean hasOpenTx(String id, TxRecord.TxKind kind) {
        return txJournal.latestForRequest(id, kind).map(t -> t.status().open()).orElse(false);
    }

    // ------------------------------------------------------------------ failures and endings

    /** FAILED with a code, then (on-chain requests) a reportFailure tx so the consumer is refunded. */
    private void failRequest(String id, FailureCode code, String reason) {
        JournalEntry e = journal.get(id);
        if (e.state().isTerminal() || e.state() == RequestState.CONFIRMED) return;
        log.warn("request failed with {} ({}): {}", code, code.code(), reason);
        JournalEntry failed;
        try {
            failed = journal.fail(id, e.state(), RequestState.FAILED, code.code(), reason);
        } catch (StaleStateException stale) {
            log.info("failure not recorded: {}", stale.getMessage());
            return;
        }
        notifyDone(failed);
        if (failed.spec().origin() == RequestOrigin.CHAIN) sendFailureReport(failed);
    }

    private void sendFailureReport(JournalEntry failed) {
        // one reporter per request at a time (the failing worker and the sweep may both try)
        if (!reporting.add(failed.id())) return;
        try {
            if (hasOpenTx(failed.id(), TxRecord.TxKind.FAILURE)) return;
            if (journal.find(failed.id()).map(e -> e.timings().confirmedAt() != null).orElse(true)) return;
            if (!chain.isPending(failed.spec().requestId())) {
                log.info("not reporting failure: request no longer pending on-chain");
                journal.markFailureReported(failed.id());
                return;
            }
            TxRecord tx = chain.reportFailure(failed.spec(), failed.failureCode(), failed.reason());
            journal.recordTx(failed.id(), tx.txHash(), tx.kind().name());
        } catch (RuntimeException e) {
            log.warn("reportFailure not sent this time ({}); the sweep retries", e.toString());
        } finally {
            reporting.remove(failed.id());
        }
    }

    private void end(JournalEntry e, RequestState ending, String reason) {
        try {
            JournalEntry done = journal.transition(e.id(), e.state(), ending, reason);
            log.info("{}: {}", ending, reason);
            notifyDone(done);
        } catch (StaleStateException stale) {
            log.debug("ending skipped: {}", stale.getMessage());
        }
    }

    private void notifyDone(JournalEntry entry) {
        GenerationEvents o = observers.remove(entry.id());
        if (o != null) o.onDone(entry);
    }

    // ------------------------------------------------------------------ tx outcomes and unloads

    @Override
    public void onFinal(TxRecord tx, boolean success) {
        withMdc(tx.requestId(), () -> {
            JournalEntry e = journal.get(tx.requestId());
            if (tx.gasUsed() != null) journal.recordGasUsed(e.id(), tx.gasUsed());
            if (tx.kind() == TxRecord.TxKind.FAILURE) {
                if (success || !chain.isPending(e.spec().requestId())) journal.markFailureReported(e.id());
                else log.error("reportFailure tx {} reverted while the request is still pending", tx.txHash());
                return;
            }
            if (e.state() != RequestState.SUBMITTED) return;
            if (success) {
                try {
                    journal.transition(e.id(), RequestState.SUBMITTED, RequestState.CONFIRMED, null);
                } catch (StaleStateException alreadyDone) {
                    return; // the receipt tracker and the sweep both saw the receipt; the first one won
                }
                if (e.timings().submittedAt() != null) {
                    meters.timer("loracle.stage.latency", "stage", "confirm").record(Duration.ofMillis(clock.millis() - e.timings().submittedAt()));
                }
                log.info("fulfilment confirmed (tx {}, gas {})", tx.txHash(), tx.gasUsed());
                runtime.release(e.id(), this::queuedWants);
            } else {
                handleFulfilRejected(e, "fulfil tx " + tx.txHash() + " reverted");
            }
        });
    }

    @Override
    public void onSuperseded(TxRecord tx) {
        // the sweep sees SUBMITTED (or an unreported FAILED) without an open tx and decides again (isPending first)
        log.warn("tx {} for {} superseded; the request will be re-checked", tx.txHash(), tx.requestId());
    }

    @Override
    public void onUnloaded(List<String> requestIds) {
        for (String id : requestIds) {
            withMdc(id, () -> journal.find(id).filter(e -> e.state() == RequestState.CONFIRMED).ifPresent(e -> {
                try {
                    journal.transition(id, RequestState.CONFIRMED, RequestState.UNLOADED, null);
                    log.info("adapters unloaded");
                } catch (StaleStateException ignored) {
                    // another path unloaded it first
                }
            }));
        }
    }

    // ------------------------------------------------------------------ sweep: recovery and retries

    private void sweep() {
        try {
            if (stopped.get()) return;
            int room = cfg.queueCapacity();
            for (JournalEntry e : journal.findByStates(room, RequestState.RECEIVED, RequestState.FETCHING, RequestState.RUNNING)) {
                if (!inFlight.contains(e.id())) {
                    if (e.state() == RequestState.RECEIVED || accepting.get()) dispatch(e.id());
                }
            }
            if (chain != null) {
                for (JournalEntry e : journal.findByStates(room, RequestState.SUBMITTED)) {
                    if (!inFlight.contains(e.id()) && !hasOpenTx(e.id(), TxRecord.TxKind.FULFIL)) {
                        Optional<TxRecord> last = txJournal.latestForRequest(e.id(), TxRecord.TxKind.FULFIL);
                        if (last.isPresent() && last.get().status() == TxRecord.TxStatus.CONFIRMED) {
                            onFinal(last.get(), true); // crashed between the receipt and the journal update
                        } else if (last.isPresent() && last.get().status() == TxRecord.TxStatus.REVERTED) {
                            onFinal(last.get(), false);
                        } else if (inFlight.add(e.id())) {
                            submitPool.execute(() -> withMdc(e.id(), () -> submit(e.id(), 0, 0)));
                        }
                    }
                }
                for (JournalEntry e : journal.unreportedFailures(room)) {
                    Optional<TxRecord> last = txJournal.latestForRequest(e.id(), TxRecord.TxKind.FAILURE);
                    if (last.isPresent() && last.get().status() == TxRecord.TxStatus.CONFIRMED) {
                        journal.markFailureReported(e.id());
                    } else if (last.isEmpty() || !last.get().status().open()) {
                        withMdc(e.id(), () -> sendFailureReport(e));
                    }
                }
            }
            // confirmed requests whose set is no longer resident (e.g. after a restart) are unloaded
            for (JournalEntry e : journal.findByStates(room, RequestState.CONFIRMED)) {
                if (!e.spec().adapterSetKey().equals(runtime.residentKey())) onUnloaded(List.of(e.id()));
            }
        } catch (RuntimeException e) {
            log.warn("sweep failed (will run again): {}", e.toString());
        }
    }

    // ------------------------------------------------------------------ shutdown

    /** Graceful: stop intake, let the current generation and sends finish (bounded), leave the journal as checkpoint. */
    @Override
    public void close() {
        if (!stopped.compareAndSet(false, true)) return;
        accepting.set(false);
        timers.shutdownNow();
        fetchPool.shutdownNow();
        long deadline = System.nanoTime() + cfg.shutdownTimeout().toNanos();
        try {
            runtimeThread.join(Math.max(1, cfg.shutdownTimeout().toMillis()));
            if (runtimeThread.isAlive()) runtimeThread.interrupt();
            submitPool.shutdown();
            submitPool.awaitTermination(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        submitPool.shutdownNow();
        log.info("pipeline stopped; unfinished requests resume from the journal on the next start");
    }

    static void withMdc(String id, Runnable r) {
        String previous = MDC.get("requestId");
        MDC.put("requestId", id);
        try {
            r.run();
        } finally {
            if (previous == null) MDC.remove("requestId");
            else MDC.put("requestId", previous);
        }
    }
}
