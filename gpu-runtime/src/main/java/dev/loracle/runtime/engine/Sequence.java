package dev.loracle.runtime.engine;

import java.util.concurrent.CompletableFuture;

/**
 * Handle of a submitted sequence: its id, the future of its result (completed when it stops; exceptionally on a
 * refused admission, a bad request or a failed step; cancelled by {@link #cancel()}), and cancellation. Thread-safe.
 */
public final class Sequence {
    private final long id;
    private final CompletableFuture<GenerationResult> result = new CompletableFuture<>();
    private final Runnable wakeScheduler;
    private volatile boolean cancelRequested;

    Sequence(long id, Runnable wakeScheduler) {
        this.id = id;
        this.wakeScheduler = wakeScheduler;
        result.whenComplete((r, e) -> { if (result.isCancelled()) wakeScheduler.run(); });
    }

    public long id() { return id; }

    public CompletableFuture<GenerationResult> result() { return result; }

    /** Stops the sequence at the next step boundary and returns its KV blocks and adapter references; the future is cancelled. */
    public void cancel() {
        cancelRequested = true;
        wakeScheduler.run();
    }

    boolean cancelRequested() { return cancelRequested || result.isCancelled(); }

    @Override
    public String toString() { return "Sequence#" + id; }
}
