package dev.loracle.runtime.tensor;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed, small pool for data-parallel loops over index ranges. The calling thread and {@code threads-1} daemon
 * workers claim contiguous chunks of the range (a few per thread, so that a worker that is slow to wake on a busy
 * machine leaves only small chunks for the others rather than half the loop). Workers spin briefly between jobs
 * (a decode step issues ~60 short parallel loops back to back, and parking/unparking each time would cost more than
 * the loops), then park.
 * Chunk boundaries depend only on n, grain and the pool size and every index is computed by exactly one thread, so
 * per-index results never depend on which thread ran them. One {@link #forRange} at a time per pool.
 */
public final class ParallelRunner implements AutoCloseable {

    /** Body of a parallel loop: process indices {@code [start, end)}. */
    @FunctionalInterface
    public interface RangeTask {
        void run(int start, int end);
    }

    private static final int SPIN_LIMIT = 1 << 12;
    /** Chunks per thread: enough for load balancing when a thread is descheduled, few enough to keep claims cheap. */
    private static final int CHUNKS_PER_THREAD = 4;

    /** One published loop; immutable apart from its claim and completion counters. */
    private static final class Job {
        final RangeTask task;
        final int n;
        final int chunks;
        final Thread waiter;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger pending;
        volatile Throwable failure;

        Job(RangeTask task, int n, int chunks, Thread waiter) {
            this.task = task;
            this.n = n;
            this.chunks = chunks;
            this.waiter = waiter;
            this.pending = new AtomicInteger(chunks);
        }

        void runChunks() {
            int c;
            while ((c = next.getAndIncrement()) < chunks) {
                try {
                    task.run((int) ((long) n * c / chunks), (int) ((long) n * (c + 1) / chunks));
                } catch (Throwable e) {
                    failure = e;
                } finally {
                    if (pending.decrementAndGet() == 0) LockSupport.unpark(waiter);
                }
            }
        }
    }

    private final int threads;
    private final Thread[] workers;
    private volatile Job job;
    private volatile boolean closed;

    public ParallelRunner(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            Thread t = new Thread(this::workerLoop, "loracle-matmul-" + (i + 1));
            t.setDaemon(true);
            workers[i] = t;
            t.start();
        }
    }

    public int threads() { return threads; }

    /**
     * Runs {@code task} over {@code [0, n)} split into contiguous chunks of at least {@code grain} indices each
     * (at most {@value #CHUNKS_PER_THREAD} per thread); returns when all are done; rethrows the first failure.
     */
    public void forRange(int n, int grain, RangeTask task) {
        forRange(n, grain, CHUNKS_PER_THREAD, task);
    }

    /** As {@link #forRange(int, int, RangeTask)} with up to {@code chunksPerThread} chunks per thread. */
    public void forRange(int n, int grain, int chunksPerThread, RangeTask task) {
        if (n <= 0) return;
        if (threads == 1 || closed) {
            task.run(0, n);
            return;
        }
        int chunks = (int) Math.min((long) threads * Math.max(1, chunksPerThread), Math.max(1, n / (long) Math.max(1, grain)));
        if (chunks == 1) {
            task.run(0, n);
            return;
        }
        Job j = new Job(task, n, chunks, Thread.currentThread());
        job = j;
        for (int i = 0, wake = Math.min(workers.length, chunks - 1); i < wake; i++) LockSupport.unpark(workers[i]);
        j.runChunks();
        int spins = 0;
        while (j.pending.get() != 0) {
            if (++spins < SPIN_LIMIT) Thread.onSpinWait();
            else LockSupport.parkNanos(this, 20_000);
        }
        Throwable f = j.failure;
        if (f != null) {
            if (f instanceof RuntimeException re) throw re;
            if (f instanceof Error e) throw e;
            throw new IllegalStateException(f);
        }
    }

    private void workerLoop() {
        Job seen = null;
        while (!closed) {
            int spins = 0;
            Job j;
            while ((j = job) == seen && !closed) {
                if (++spins < SPIN_LIMIT) Thread.onSpinWait();
                else LockSupport.park(this);
            }
            if (closed) return;
            seen = j;
            j.runChunks();
        }
    }

    @Override
    public void close() {
        closed = true;
        job = null;
        for (Thread w : workers) LockSupport.unpark(w);
    }
}
