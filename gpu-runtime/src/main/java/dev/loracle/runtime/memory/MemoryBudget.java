package dev.loracle.runtime.memory;

import java.time.Duration;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Accounted memory of one device ("host", "cuda:0") by category and owner, with a red line that no reservation may
 * cross. Thread-safe. Reservations either fail fast or wait (bounded) for releases. Releasing every non-base
 * reservation brings {@link #used()} back to {@link #baseBytes()} exactly: the figures are integer sums, never
 * estimates.
 */
public final class MemoryBudget {
    private final String device;
    private final long redLine;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition released = lock.newCondition();
    private final long[] byCategory = new long[MemoryCategory.values().length];
    private final Map<String, Long> byOwner = new HashMap<>();
    private long used;

    /**
     * @param device        name in messages and metrics
     * @param redLineBytes  the most bytes that may be accounted at once; must be positive
     */
    public MemoryBudget(String device, long redLineBytes) {
        this.device = Objects.requireNonNull(device, "device");
        if (redLineBytes <= 0) {
            throw new IllegalArgumentException("red line of " + device + " must be positive, got " + redLineBytes);
        }
        this.redLine = redLineBytes;
    }

    public String device() { return device; }

    /** Reserves {@code bytes} now or throws: the fail-fast mode. */
    public Reservation reserve(MemoryCategory category, long bytes, String owner) {
        checkArguments(category, bytes, owner);
        lock.lock();
        try {
            if (!fits(bytes)) {
                throw refusal(category, bytes, owner, null);
            }
            return grant(category, bytes, owner);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Reserves {@code bytes}, waiting up to {@code maxWait} for other reservations to be released.
     *
     * @throws RedLineExceededException when the bytes did not fit within {@code maxWait}, or can never fit
     *                                  (more than the red line minus the base)
     */
    public Reservation reserve(MemoryCategory category, long bytes, String owner, Duration maxWait)
            throws InterruptedException {
        checkArguments(category, bytes, owner);
        Objects.requireNonNull(maxWait, "maxWait");
        long remaining = maxWait.isNegative() ? 0 : saturatedNanos(maxWait);
        lock.lockInterruptibly();
        try {
            while (!fits(bytes)) {
                // Only releases of non-base memory can make room; if even that is not enough, waiting is pointless.
                if (bytes > redLine - byCategory[MemoryCategory.BASE_WEIGHTS.ordinal()] || remaining <= 0) {
                    throw refusal(category, bytes, owner, maxWait);
                }
                remaining = released.awaitNanos(remaining);
            }
            return grant(category, bytes, owner);
        } finally {
            lock.unlock();
        }
    }

    /** All accounted bytes. */
    public long used() {
        lock.lock();
        try {
            return used;
        } finally {
            lock.unlock();
        }
    }

    public long used(MemoryCategory category) {
        lock.lock();
        try {
            return byCategory[category.ordinal()];
        } finally {
            lock.unlock();
        }
    }

    /** Bytes currently held by reservations of {@code owner} (0 if none). */
    public long usedBy(String owner) {
        lock.lock();
        try {
            return byOwner.getOrDefault(owner, 0L);
        } finally {
            lock.unlock();
        }
    }

    /** Bytes of {@link MemoryCategory#BASE_WEIGHTS}: what {@link #used()} returns to after every detach. */
    public long baseBytes() {
        return used(MemoryCategory.BASE_WEIGHTS);
    }

    public long redLine() { return redLine; }

    /** Bytes still available below the red line (never negative). */
    public long free() {
        lock.lock();
        try {
            return Math.max(0, redLine - used);
        } finally {
            lock.unlock();
        }
    }

    /** All figures read under one lock, so they add up. */
    public MemorySnapshot snapshot() {
        lock.lock();
        try {
            return new MemorySnapshot(device,
                    byCategory[MemoryCategory.BASE_WEIGHTS.ordinal()],
                    byCategory[MemoryCategory.ADAPTER.ordinal()],
                    byCategory[MemoryCategory.WORKING_COPY.ordinal()],
                    byCategory[MemoryCategory.KV_CACHE.ordinal()],
                    byCategory[MemoryCategory.SCRATCH.ordinal()],
                    used, redLine, Math.max(0, redLine - used));
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        MemorySnapshot s = snapshot();
        return "MemoryBudget[" + device + ": used " + mib(s.usedBytes()) + " of red line " + mib(s.redLineBytes())
                + " (base " + mib(s.baseBytes()) + ", adapters " + mib(s.adapterBytes()) + ", working copies "
                + mib(s.workingCopyBytes()) + ", kv " + mib(s.kvCacheBytes()) + ", scratch " + mib(s.scratchBytes())
                + ")]";
    }

    private boolean fits(long bytes) {
        // used <= redLine always holds, so redLine - used cannot overflow.
        return bytes <= redLine - used;
    }

    private Reservation grant(MemoryCategory category, long bytes, String owner) {
        used += bytes;
        byCategory[category.ordinal()] += bytes;
        byOwner.merge(owner, bytes, Long::sum);
        return new Held(category, bytes, owner);
    }

    private void release(Held held) {
        lock.lock();
        try {
            used -= held.bytes;
            byCategory[held.category.ordinal()] -= held.bytes;
            long left = byOwner.merge(held.owner, -held.bytes, Long::sum);
            if (left == 0) {
                byOwner.remove(held.owner);
            }
            released.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private RedLineExceededException refusal(MemoryCategory category, long bytes, String owner, Duration waited) {
        String how = waited == null ? "" : " after waiting up to " + waited.toMillis() + " ms";
        String message = String.format(Locale.ROOT,
                "memory red line exceeded on %s: %s reservation of %s for '%s' would bring accounted memory to %s, "
                        + "above the red line of %s%s (used %s: base %s, adapters %s, working copies %s, kv cache %s, "
                        + "scratch %s, host cache %s)",
                device, category, mib(bytes), owner, mib(saturatedAdd(used, bytes)), mib(redLine), how, mib(used),
                mib(byCategory[0]), mib(byCategory[1]), mib(byCategory[2]), mib(byCategory[3]), mib(byCategory[4]),
                mib(byCategory[MemoryCategory.HOST_CACHE.ordinal()]));
        return new RedLineExceededException(message, device, category, owner, bytes, used, redLine);
    }

    private static void checkArguments(MemoryCategory category, long bytes, String owner) {
        Objects.requireNonNull(category, "category");
        Objects.requireNonNull(owner, "owner");
        if (bytes < 0) {
            throw new IllegalArgumentException("cannot reserve a negative number of bytes: " + bytes + " for " + owner);
        }
    }

    private static long saturatedNanos(Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    private static long saturatedAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
    }

    static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.2f MiB (%d bytes)", bytes / (1024.0 * 1024.0), bytes);
    }

    private final class Held implements Reservation {
        private final MemoryCategory category;
        private final long bytes;
        private final String owner;
        private final java.util.concurrent.atomic.AtomicBoolean open = new java.util.concurrent.atomic.AtomicBoolean(true);

        Held(MemoryCategory category, long bytes, String owner) {
            this.category = category;
            this.bytes = bytes;
            this.owner = owner;
        }

        @Override public long bytes() { return bytes; }

        @Override public MemoryCategory category() { return category; }

        @Override public String owner() { return owner; }

        @Override public boolean active() { return open.get(); }

        @Override
        public void close() {
            if (open.compareAndSet(true, false)) {
                release(this);
            }
        }

        @Override
        public String toString() {
            return "Reservation[" + device + " " + category + " " + bytes + " bytes for " + owner
                    + (open.get() ? "" : ", released") + "]";
        }
    }
}
