package dev.loracle.runtime.engine;

import dev.loracle.runtime.memory.MemoryBudget;
import dev.loracle.runtime.memory.MemoryCategory;
import dev.loracle.runtime.memory.Reservation;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Paged KV blocks of one engine (vLLM's block pool): block ids handed to sequences, their bytes accounted in the
 * budget as KV_CACHE while a sequence holds them. A sequence is admitted with its worst case (prompt + maxTokens
 * positions) reserved at once, so it can never run out mid-generation; {@link Lease#close()} gives the blocks and
 * the bytes back. Thread-safe.
 */
final class KvBlockPool implements AutoCloseable {
    private final KvBlockStorage storage;
    private final MemoryBudget budget;
    private final Deque<Integer> freeIds = new ArrayDeque<>();
    private int nextId;
    private int inUse;

    KvBlockPool(KvBlockStorage storage, MemoryBudget budget) {
        this.storage = storage;
        this.budget = budget;
    }

    KvBlockStorage storage() { return storage; }

    static int blocksFor(int positions) {
        return (positions + KvBlockStorage.BLOCK_POSITIONS - 1) / KvBlockStorage.BLOCK_POSITIONS;
    }

    long bytesFor(int positions) { return blocksFor(positions) * storage.blockBytes(); }

    /** Whether {@code positions} could fit at all: under the red line with nothing but the base resident. */
    boolean couldEverFit(int positions) {
        return bytesFor(positions) <= budget.redLine() - budget.baseBytes();
    }

    /** Blocks for {@code positions} positions now, or RedLineExceededException (nothing held then). */
    Lease admit(String owner, int positions) {
        Reservation r = budget.reserve(MemoryCategory.KV_CACHE, bytesFor(positions), owner);
        int[] table = new int[blocksFor(positions)];
        int got = 0;
        try {
            for (; got < table.length; got++) {
                int id = takeId();
                try {
                    storage.acquire(id);
                } catch (RuntimeException | Error e) {
                    returnId(id);
                    throw e;
                }
                table[got] = id;
            }
            return new Lease(table, r);
        } catch (RuntimeException | Error e) {
            for (int i = 0; i < got; i++) giveBack(table[i]);
            r.close();
            throw e;
        }
    }

    /** Blocks in use now. */
    synchronized int blocksInUse() { return inUse; }

    private synchronized int takeId() {
        inUse++;
        Integer id = freeIds.pollFirst();
        return id != null ? id : nextId++;
    }

    private synchronized void giveBack(int id) {
        storage.release(id);
        returnId(id);
    }

    private synchronized void returnId(int id) {
        freeIds.addFirst(id);
        inUse--;
    }

    @Override
    public void close() { storage.close(); }

    /** A sequence's blocks: {@link #table()} maps position p to block table[p / BLOCK_POSITIONS]. */
    final class Lease implements AutoCloseable {
        private final int[] table;
        private final Reservation reservation;
        private boolean closed;

        private Lease(int[] table, Reservation reservation) {
            this.table = table;
            this.reservation = reservation;
        }

        int[] table() { return table; }

        int positions() { return table.length * KvBlockStorage.BLOCK_POSITIONS; }

        @Override
        public synchronized void close() {
            if (closed) return;
            closed = true;
            for (int id : table) giveBack(id);
            reservation.close();
        }
    }

}
