package dev.loracle.oracle.pipeline;

import dev.loracle.oracle.runtime.RuntimeService;
import dev.loracle.runtime.engine.AdapterWeight;
import dev.loracle.runtime.engine.GenerationResult;
import dev.loracle.runtime.engine.Sequence;
import dev.loracle.runtime.engine.TokenListener;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * {@link Generator} over the engine's continuous batch: every job becomes a sequence with its own adapter set, so
 * requests with different sets generate together. A dispatcher thread admits queued jobs in arrival order while fewer
 * than {@code maxActive} run (the engine's running limit, so a job asks {@code beforeStart} right before the engine
 * can take it, not when it enters a long queue), takes the job's adapter references ({@link RuntimeService#hold}) and
 * submits it. Tokens and results are handed on, in order, from a small pool, never on the engine's scheduler thread.
 */
public class BatchedGenerator implements Generator {
    private static final Logger log = LoggerFactory.getLogger(BatchedGenerator.class);

    private record Pending(Job job, CompletableFuture<GenerationResult> result) {
    }

    private final RuntimeService runtime;
    private final int maxActive;
    private final Semaphore active;
    private final LinkedBlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
    private final ExecutorService handOff;
    private final Thread dispatcher;
    private volatile boolean stopped;

    /** @param maxActive sequences submitted to the engine at once (1 = one generation at a time) */
    public BatchedGenerator(RuntimeService runtime, int maxActive, MeterRegistry meters) {
        if (maxActive < 1) throw new IllegalArgumentException("maxActive must be >= 1, got " + maxActive);
        this.runtime = runtime;
        this.maxActive = maxActive;
        this.active = new Semaphore(maxActive);
        this.handOff = Executors.newFixedThreadPool(2, Thread.ofPlatform().name("generated-", 0).daemon().factory());
        meters.gaugeCollectionSize("loracle.queue.depth", List.of(), queue);
        meters.gauge("loracle.generator.active", active, s -> maxActive - s.availablePermits());
        this.dispatcher = Thread.ofPlatform().name("dispatch").daemon().start(this::loop);
    }

    @Override
    public CompletableFuture<GenerationResult> submit(Job job) {
        CompletableFuture<GenerationResult> result = new CompletableFuture<>();
        if (stopped) result.completeExceptionally(new IllegalStateException("generator stopped"));
        else queue.add(new Pending(job, result));
        return result;
    }

    @Override
    public void release(String requestId) {
        runtime.release(requestId);
    }

    @Override
    public boolean resident(String adapterSetKey) {
        return runtime.holds(adapterSetKey);
    }

    @Override
    public int queued() {
        return queue.size();
    }

    private void loop() {
        while (!stopped) {
            Pending p;
            try {
                active.acquire();
            } catch (InterruptedException e) {
                return;
            }
            try {
                p = queue.poll(200, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                active.release();
                return;
            }
            if (p == null) {
                active.release();
                continue;
            }
            PipelineContext.withMdc(p.job().requestId(), () -> start(p));
        }
    }

    private void start(Pending p) {
        Job job = p.job();
        try {
            if (stopped) throw new IllegalStateException("generator stopped");
            if (!job.beforeStart().getAsBoolean()) {
                active.release();
                p.result().completeExceptionally(new NotStarted(job.requestId()));
                return;
            }
            List<AdapterWeight> adapters = runtime.hold(job.requestId(), job.adapterSetKey(), job.adapters(), job.cids());
            Relay relay = new Relay(job.listener());
            Sequence s = runtime.submit(adapters, job.request(), job.listener() == null ? null : relay, job.promptTokens(), job.cachePrefix());
            s.result().whenComplete((r, e) -> relay.then(() -> {
                active.release();
                if (e != null) p.result().completeExceptionally(e);
                else p.result().complete(r);
            }));
        } catch (RuntimeException e) {
            active.release();
            p.result().completeExceptionally(e);
        }
    }

    /**
     * Hands a sequence's tokens, then its result, to {@code listener} in order on the hand-off pool, so journaling and
     * streaming never hold up the engine's steps. Only the engine's scheduler thread appends (one sequence at a time).
     */
    private final class Relay implements TokenListener {
        private final TokenListener listener;
        private volatile CompletableFuture<Void> tail = CompletableFuture.completedFuture(null);

        Relay(TokenListener listener) {
            this.listener = listener;
        }

        @Override
        public void onToken(int token, String piece) {
            then(() -> listener.onToken(token, piece));
        }

        void then(Runnable step) {
            tail = tail.thenRunAsync(step, handOff).exceptionally(e -> {
                log.warn("token listener failed: {}", e.toString());
                return null;
            });
        }
    }

    @Override
    public void close() {
        stopped = true;
        dispatcher.interrupt();
        try {
            dispatcher.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Pending p; (p = queue.poll()) != null; ) p.result().completeExceptionally(new IllegalStateException("generator stopped"));
        try { // the sequences under way finish and are handed on; the journal keeps any that do not in their state
            if (!active.tryAcquire(maxActive, 10, TimeUnit.SECONDS)) log.warn("generations still running at shutdown");
            handOff.shutdown();
            handOff.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        log.debug("generator stopped");
    }
}
