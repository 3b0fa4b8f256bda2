package dev.loracle.oracle.it;

import dev.loracle.oracle.journal.JournalEntry;
import dev.loracle.oracle.journal.RequestState;
import dev.loracle.oracle.journal.TransitionListener;

import java.util.concurrent.CountDownLatch;

/**
 * Simulates a crash at a checkpoint: the worker that moves a request into {@code state} blocks right after the journal
 * committed it, until the node is stopped (its threads are interrupted), so nothing after that state happens.
 */
final class HaltAt implements TransitionListener {
    final RequestState state;
    final CountDownLatch reached = new CountDownLatch(1);
    private final CountDownLatch never = new CountDownLatch(1);

    HaltAt(RequestState state) {
        this.state = state;
    }

    @Override
    public void onTransition(JournalEntry entry, RequestState from) {
        if (entry.state() != state) return;
        reached.countDown();
        try {
            never.await();
        } catch (InterruptedException stopping) {
            Thread.currentThread().interrupt();
        }
        throw new IllegalStateException("halted at " + state + ": node stopping");
    }
}
