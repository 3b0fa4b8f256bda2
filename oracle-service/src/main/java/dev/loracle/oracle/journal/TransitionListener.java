package dev.loracle.oracle.journal;

/**
 * Told after every committed state transition (metrics, logs, tests that stop the node at a given state). Called on the
 * thread that made the transition; must be quick. An exception thrown here propagates to that thread (tests use it to
 * interrupt work at a checkpoint); the transition itself is already committed.
 */
public interface TransitionListener {
    void onTransition(JournalEntry entry, RequestState from);
}
