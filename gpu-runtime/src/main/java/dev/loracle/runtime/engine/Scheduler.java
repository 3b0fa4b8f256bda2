package dev.loracle.runtime.engine;

import dev.loracle.runtime.memory.RedLineExceededException;
import dev.loracle.runtime.tokenizer.Tokenizer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Continuous batching (vLLM's scheduler, simplified): one thread runs steps; each step is one forward pass over a
 * token budget filled with one decode token per running sequence first, then prompt chunks of sequences still in
 * prefill. Waiting sequences are admitted in arrival order between steps when their worst-case KV blocks (and MERGED
 * copy) fit under the red line; finished and cancelled ones leave between steps and give everything back.
 */
final class Scheduler implements Runnable {
    private static final System.Logger LOG = System.getLogger(Scheduler.class.getName());

    private final Backend backend;
    private final KvBlockPool kv;
    private final MergedCopies mergedCopies;
    private final Tokenizer tokenizer;
    private final int vocab, stepTokens, maxRunning;
    private final ConcurrentLinkedQueue<SequenceState> incoming = new ConcurrentLinkedQueue<>();
    private final Deque<SequenceState> waiting = new ArrayDeque<>();
    private final List<SequenceState> running = new ArrayList<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    private volatile boolean stopping;
    private long steps;

    Scheduler(Backend backend, KvBlockPool kv, MergedCopies mergedCopies, Tokenizer tokenizer, int stepTokens, int maxRunning) {
        this.backend = backend;
        this.kv = kv;
        this.mergedCopies = mergedCopies;
        this.tokenizer = tokenizer;
        this.vocab = backend.plan().config().vocabSize();
        this.stepTokens = stepTokens;
        this.maxRunning = maxRunning;
    }

    void submit(SequenceState s) {
        if (stopping) throw new IllegalStateException("engine is closed");
        incoming.add(s);
        signal();
    }

    void signal() {
        lock.lock();
        try {
            work.signalAll();
        } finally {
            lock.unlock();
        }
    }

    long steps() { return steps; }

    void stop() {
        stopping = true;
        signal();
    }

    @Override
    public void run() {
        try {
            while (!stopping) {
                for (SequenceState s; (s = incoming.poll()) != null; ) waiting.add(s);
                dropCancelled();
                admit();
                if (running.isEmpty()) {
                    awaitWork(waiting.isEmpty() ? 1000 : 20);
                    continue;
                }
                step();
            }
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.ERROR, "scheduler stopped by an unexpected error", t);
            stopping = true;
            throw t;
        } finally {
            for (SequenceState s; (s = incoming.poll()) != null; ) waiting.add(s);
            IllegalStateException closed = new IllegalStateException("engine is closed");
            for (SequenceState s : waiting) fail(s, closed);
            for (SequenceState s : running) fail(s, closed);
            waiting.clear();
            running.clear();
        }
    }

    private void awaitWork(long millis) {
        lock.lock();
        try {
            if (incoming.isEmpty() && !stopping) work.await(millis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopping = true;
        } finally {
            lock.unlock();
        }
    }

    private void dropCancelled() {
        waiting.removeIf(s -> s.handle.cancelRequested() && cancelled(s));
        running.removeIf(s -> s.handle.cancelRequested() && cancelled(s));
    }

    private boolean cancelled(SequenceState s) {
        s.release();
        s.handle.result().completeExceptionally(new CancellationException(s.handle + " was cancelled"));
        return true;
    }

    /** Admits waiting sequences in arrival order while they fit; the first that must wait blocks the ones behind it. */
    private void admit() {
        while (!waiting.isEmpty() && running.size() < maxRunning) {
            SequenceState s = waiting.peekFirst();
            try {
                reserve(s);
            } catch (RedLineExceededException e) {
                if (s.request.admission() == Admission.FAIL_FAST || !kv.couldEverFit(s.worstCasePositions())) {
                    waiting.pollFirst();
                    fail(s, e);
                    continue;
                }
                return; // WAIT: retry after the next step returns blocks
            } catch (RuntimeException e) {
                waiting.pollFirst();
                fail(s, e);
                continue;
            }
            waiting.pollFirst();
            s.admittedNanos = System.nanoTime();
            running.add(s);
        }
    }

    private void reserve(SequenceState s) {
        if (s.request.mode() == AttachMode.MERGED && !s.adapters.isEmpty()) {
            s.merged = mergedCopies.acquire(s.request.adapters());
            s.binding = new AdapterBinding.Merged(s.merged.copy());
        }
        try {
            s.kv = kv.admit(s.owner(), s.worstCasePositions(), s.prefixHashes());
            s.computed = s.cachedPositions = s.kv.cachedPositions();
        } catch (RuntimeException e) {
            if (s.merged != null) s.merged.close();
            s.merged = null;
            throw e;
        }
    }

    private void step() {
        // decodes first, then prefill chunks; grouped by binding so that rows of one adapter set form one segment
        List<SequenceState> order = new ArrayList<>(running);
        // (the least recently served first, so that a budget smaller than the running set cannot starve anyone)
        order.sort(Comparator.comparing((SequenceState s) -> s.prefilling()).thenComparingLong(s -> s.lastServedStep)
                .thenComparingInt(s -> bindingOrder(s.binding)));
        StepBatch.Builder b = new StepBatch.Builder();
        List<SequenceState> inStep = new ArrayList<>();
        List<Integer> counts = new ArrayList<>();
        int budget = stepTokens;
        for (SequenceState s : order) {
            if (budget == 0) break;
            int count = s.prefilling() ? Math.min(budget, s.prompt.length - s.computed) : 1;
            int[] src = new int[count];
            for (int i = 0; i < count; i++) src[i] = s.tokenAt(s.computed + i);
            boolean logits = s.computed + count >= s.prompt.length;
            b.add(s.kv.table(), s.binding, src, 0, count, s.computed, logits);
            inStep.add(s);
            counts.add(count);
            s.lastServedStep = steps;
            budget -= count;
        }
        StepBatch batch = b.build();
        float[] logits;
        try {
            logits = backend.execute(batch, kv.storage());
        } catch (RuntimeException e) {
            for (SequenceState s : inStep) {
                running.remove(s);
                fail(s, e);
            }
            return;
        }
        steps++;
        int row = 0;
        float[] one = new float[vocab];
        for (int i = 0; i < inStep.size(); i++) {
            SequenceState s = inStep.get(i);
            s.computed += counts.get(i);
            if (s.computed < s.prompt.length) continue;
            System.arraycopy(logits, row++ * vocab, one, 0, vocab);
            if (s.logitsSink != null) s.logitsSink.accept(one.clone());
            StopReason stop;
            try {
                stop = advance(s, one);
            } catch (RuntimeException e) {
                running.remove(s);
                fail(s, e);
                continue;
            }
            if (stop != null) {
                running.remove(s);
                finish(s, stop);
            }
        }
    }

    /** Samples the next token and streams it; returns why the sequence stops now, or null when it goes on. */
    private StopReason advance(SequenceState s, float[] logits) {
        if (s.generatedCount == 0) s.firstTokenNanos = System.nanoTime();
        int next = s.sampler.sample(logits, vocab);
        if (tokenizer != null && !s.request.ignoreEos() && (tokenizer.isEndOfGeneration(next) || next == tokenizer.bos())) {
            return StopReason.EOS;
        }
        for (int stop : s.request.stopTokens()) {
            if (next == stop) {
                return StopReason.STOP_TOKEN;
            }
        }
        int prev = s.tokenAt(s.computed - 1);
        s.addGenerated(next);
        String piece = tokenizer == null ? "" : s.utf8.add(tokenizer.pieceBytes(prev, next));
        s.text.append(piece);
        if (s.request.listener() != null) s.request.listener().onToken(next, piece);
        return s.generatedCount == s.request.params().maxTokens() ? StopReason.MAX_TOKENS : null;
    }

    private void finish(SequenceState s, StopReason why) {
        if (s.lastBlockSink != null && s.computed >= KvBlockStorage.BLOCK_POSITIONS) {
            try {
                s.lastBlockSink.accept(kv.storage().readBlock(s.kv.table()[s.computed / KvBlockStorage.BLOCK_POSITIONS - 1]));
            } catch (RuntimeException e) {   // e.g. a backend whose KV cannot be read back: fails this sequence only
                fail(s, e);
                return;
            }
        }
        s.kv.close(s.request.cachePrefix() ? s.computedBlockHashes() : java.util.List.of()); // full blocks stay as a prefix cache (when enabled)
        s.release();
        s.text.append(s.utf8.flush());
        long end = System.nanoTime();
        long first = s.firstTokenNanos == 0 ? end : s.firstTokenNanos;
        s.handle.result().complete(new GenerationResult(s.text.toString(), s.generatedTokens(), s.prompt.length, why,
                first - s.admittedNanos, end - first, s.cachedPositions));
    }

    private static void fail(SequenceState s, Throwable e) {
        s.release();
        s.handle.result().completeExceptionally(e);
    }

    /** Groups rows by binding (equal bindings have equal hashes): base first. */
    private static int bindingOrder(AdapterBinding b) {
        return b instanceof AdapterBinding.Base ? Integer.MIN_VALUE : b.hashCode() & Integer.MAX_VALUE;
    }
}
