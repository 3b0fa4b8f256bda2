package dev.loracle.runtime.memory;

/** Bytes held against a {@link MemoryBudget}; {@link #close()} releases them (idempotent: a second close is a no-op). */
public interface Reservation extends AutoCloseable {
    long bytes();

    MemoryCategory category();

    String owner();

    /** True until the first {@link #close()}. */
    boolean active();

    @Override
    void close();
}
