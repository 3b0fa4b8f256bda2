package dev.loracle.oracle.pipeline;

import dev.loracle.oracle.runtime.RuntimeService;
import dev.loracle.runtime.engine.GenerationResult;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;

/**
 * {@link Generator} on the synchronous engine API: one runtime thread, one resident adapter set at a time. The thread
 * takes the oldest job plus queued jobs with the same adapter set (up to {@code maxGroupSize}), so one attachment
 * serves them all, and runs them in turn.
 */
public class SerialGenerator implements Generator {
    private static final Logger log = LoggerFactory.getLogger(SerialGenerator.class);

    private record Pending(Job job, CompletableFuture<GenerationResult> result) {
    }

    private final RuntimeService runtime;
    private final int maxGroupSize;
    private final MeterRegistry meters;
    private final LinkedBlockingDeque<Pending> queue = new LinkedBlockingDeque<>();
    private final Thread thread;
    private volatile boolean stopped;

    public SerialGenerator(RuntimeService runtime, int maxGroupSize, MeterRegistry meters) {
        this.runtime = runtime;
        this.maxGroupSize = maxGroupSize;
        this.meters = meters;
        meters.gaugeCollectionSize("loracle.queue.depth", List.of(), queue);
        this.thread = Thread.ofPlatform().name("runtime").daemon().start(this::loop);
    }

    @Override
    public CompletableFuture<GenerationResult> submit(Job job) {
        CompletableFuture<GenerationResult> result = new CompletableFuture<>();
        if (stopped) {
            result.completeExceptionally(new IllegalStateException("generator stopped"));
        } else {
            queue.addLast(new Pending(job, result));
        }
        return result;
    }

    @Override
    public void release(String requestId) {
        runtime.release(requestId, this::queuedWants);
    }

    @Override
    public boolean resident(String adapterSetKey) {
        return adapterSetKey.equals(runtime.residentKey());
    }

    @Override
    public int queued() {
        return queue.size();
    }

    private void loop() {
        while (!stopped) {
            Pending first;
            try {
                first = queue.poll(200, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
            if (first == null) {
                runtime.detachIfIdle(this::queuedWants);
                continue;
            }
            for (Pending p : takeGroup(first)) {
                if (stopped) {
                    p.result().completeExceptionally(new IllegalStateException("generator stopped"));
                    continue;
                }
                PipelineContext.withMdc(p.job().requestId(), () -> run(p));
            }
        }
    }

    /** The first job plus queued jobs with the same adapter set (served by one attachment). */
    private List<Pending> takeGroup(Pending first) {
        List<Pending> group = new ArrayList<>();
        group.add(first);
        String key = first.job().adapterSetKey();
        for (Iterator<Pending> it = queue.iterator(); it.hasNext() && group.size() < maxGroupSize; ) {
            Pending p = it.next();
            if (p.job().adapterSetKey().equals(key) && queue.removeFirstOccurrence(p)) group.add(p);
        }
        if (group.size() > 1) meters.counter("loracle.scheduler.grouped").increment(group.size() - 1);
        return group;
    }

    private boolean queuedWants(String key) {
        for (Pending p : queue) if (p.job().adapterSetKey().equals(key)) return true;
        return false;
    }

    private void run(Pending p) {
        Job job = p.job();
        try {
            if (!job.beforeStart().getAsBoolean()) {
                p.result().completeExceptionally(new NotStarted(job.requestId()));
                return;
            }
            runtime.attach(job.adapterSetKey(), job.adapters(), job.cids(), job.requestId());
            p.result().complete(runtime.generate(job.adapterSetKey(), job.request(), job.listener()));
        } catch (RuntimeException e) {
            runtime.release(job.requestId(), this::queuedWants);
            p.result().completeExceptionally(e);
        }
    }

    @Override
    public void close() {
        stopped = true;
        try {
            thread.join(10_000); // the generation under way finishes and is handed on
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        thread.interrupt();
        for (Pending p; (p = queue.pollFirst()) != null; ) {
            p.result().completeExceptionally(new IllegalStateException("generator stopped"));
        }
        log.debug("generator stopped");
    }
}
