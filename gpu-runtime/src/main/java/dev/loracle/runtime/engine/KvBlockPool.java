package dev.loracle.runtime.engine;

import dev.loracle.runtime.memory.MemoryBudget;
import dev.loracle.runtime.memory.MemoryCategory;
import dev.loracle.runtime.memory.RedLineExceededException;
import dev.loracle.runtime.memory.Reservation;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * Paged KV blocks of one engine (vLLM's block pool): block ids handed to sequences, each block's bytes accounted in the
 * budget as KV_CACHE while it is held. A sequence is admitted with its worst case (prompt + maxTokens positions), so it
 * can never run out mid-generation.
 * <p>
 * Prefix cache (when enabled): a finished sequence's full blocks stay resident under their {@link BlockHash}; a new
 * sequence whose prompt starts with the same hash chain shares them (refcounted, never written again) and computes
 * only the rest. Cached blocks nobody uses are reclaimable: admission evicts them least recently used before it
 * refuses, and {@link #dropCache()} frees them all, so used bytes return exactly to the base figure. Thread-safe.
 */
final class KvBlockPool implements AutoCloseable {
    private final KvBlockStorage storage;
    private final MemoryBudget budget;
    private final boolean caching;
    private final Deque<Integer> freeIds = new ArrayDeque<>();
    private final Map<Integer, Held> held = new HashMap<>();
    private final Map<BlockHash, Integer> cached = new HashMap<>();
    private final LinkedHashSet<Integer> evictable = new LinkedHashSet<>();   // cached, unused; oldest first
    private int nextId;
    private long hitBlocks, evictions;

    /** A block's bookkeeping while it is held: its users, its hash once cached, its bytes in the budget. */
    private static final class Held {
        final Reservation bytes;
        int refs;
        BlockHash hash;

        Held(Reservation bytes) { this.bytes = bytes; }
    }

    KvBlockPool(KvBlockStorage storage, MemoryBudget budget, boolean caching) {
        this.storage = storage;
        this.budget = budget;
        this.caching = caching;
    }

    KvBlockStorage storage() { return storage; }

    boolean caching() { return caching; }

    static int blocksFor(int positions) {
        return (positions + KvBlockStorage.BLOCK_POSITIONS - 1) / KvBlockStorage.BLOCK_POSITIONS;
    }

    long bytesFor(int positions) { return blocksFor(positions) * storage.blockBytes(); }

    /** Whether {@code positions} could fit at all: under the red line with nothing but the base resident. */
    boolean couldEverFit(int positions) {
        return bytesFor(positions) <= budget.redLine() - budget.baseBytes();
    }

    /** Blocks for {@code positions} positions now, with no cached prefix. */
    Lease admit(String owner, int positions) { return admit(owner, positions, List.of()); }

    /**
     * Blocks for {@code positions} positions now: the longest run of {@code prefix} hashes found in the cache is shared
     * (its positions are already computed: {@link Lease#cachedPositions()}), the rest are fresh. Evicts unused cached
     * blocks before it gives up; then RedLineExceededException, with nothing held.
     */
    synchronized Lease admit(String owner, int positions, List<BlockHash> prefix) {
        int[] table = new int[blocksFor(positions)];
        int hits = 0;
        if (caching) {
            for (BlockHash h : prefix) {
                if (hits == table.length) break;
                Integer id = cached.get(h);
                if (id == null) break;
                table[hits++] = id;
            }
        }
        for (int i = 0; i < hits; i++) pin(table[i]);
        int got = hits;
        try {
            for (; got < table.length; got++) table[got] = fresh(owner);
        } catch (RuntimeException | Error e) {
            for (int i = 0; i < got; i++) unpin(table[i], null);
            throw e;
        }
        hitBlocks += hits;
        return new Lease(table, hits);
    }

    private void pin(int id) {
        Held h = held.get(id);
        if (h.refs++ == 0) evictable.remove(id);
    }

    /** A new block with its bytes reserved, evicting unused cached blocks (oldest first) while the bytes do not fit. */
    private int fresh(String owner) {
        Reservation r;
        while (true) {
            try {
                r = budget.reserve(MemoryCategory.KV_CACHE, storage.blockBytes(), owner);
                break;
            } catch (RedLineExceededException e) {
                if (evictable.isEmpty()) throw e;
                evictOldest();
            }
        }
        Integer reused = freeIds.pollFirst();
        int id = reused != null ? reused : nextId++;
        try {
            storage.acquire(id);
        } catch (RuntimeException | Error e) {
            freeIds.addFirst(id);
            r.close();
            throw e;
        }
        Held h = new Held(r);
        h.refs = 1;
        held.put(id, h);
        return id;
    }

    private void evictOldest() {
        Iterator<Integer> it = evictable.iterator();
        int id = it.next();
        it.remove();
        Held h = held.get(id);
        cached.remove(h.hash);
        free(id, h);
        evictions++;
    }

    /** Drops one user of {@code id}; {@code hash} (may be null) caches it when it is full and not cached yet. */
    private void unpin(int id, BlockHash hash) {
        Held h = held.get(id);
        if (caching && hash != null && h.hash == null && !cached.containsKey(hash)) {
            h.hash = hash;
            cached.put(hash, id);
        }
        if (--h.refs > 0) return;
        if (h.hash != null) evictable.add(id);   // most recently used last
        else free(id, h);
    }

    private void free(int id, Held h) {
        held.remove(id);
        storage.release(id);
        freeIds.addFirst(id);
        h.bytes.close();
    }

    /** How many of {@code hashes}, from the first, are cached (the length of the cached prefix, in blocks). */
    synchronized int cachedPrefix(List<BlockHash> hashes) {
        int n = 0;
        while (n < hashes.size() && cached.containsKey(hashes.get(n))) n++;
        return n;
    }

    /** Rows of the cached blocks with these hashes, in order; null when one of them is not cached. */
    synchronized List<byte[]> readCached(List<BlockHash> hashes) {
        List<byte[]> out = new java.util.ArrayList<>(hashes.size());
        for (BlockHash h : hashes) {
            Integer id = cached.get(h);
            if (id == null) return null;
            out.add(storage.readBlock(id));
        }
        return out;
    }

    /**
     * Caches {@code rows.get(i)} under {@code hashes.get(i)} (blocks already cached are kept as they are), evicting
     * unused cached blocks for room; RedLineExceededException leaves nothing new cached. Returns the blocks written.
     */
    synchronized int importBlocks(List<BlockHash> hashes, List<byte[]> rows) {
        if (!caching) throw new IllegalStateException("importing KV blocks needs the prefix cache (EngineConfig.withPrefixCache)");
        List<Integer> written = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < hashes.size(); i++) {
                if (cached.containsKey(hashes.get(i))) continue;
                int id = fresh("kv-import");
                written.add(id);
                storage.writeBlock(id, rows.get(i));
                Held h = held.get(id);
                h.hash = hashes.get(i);
                cached.put(h.hash, id);
            }
        } catch (RuntimeException | Error e) {
            for (int id : written) {
                Held h = held.get(id);
                if (h.hash != null) cached.remove(h.hash);
                h.hash = null;
                unpin(id, null);
            }
            throw e;
        }
        for (int id : written) unpin(id, null);
        return written.size();
    }

    /** Frees the unused cached blocks with these hashes (e.g. an imported snapshot that failed its check). */
    synchronized void forget(List<BlockHash> hashes) {
        for (BlockHash hash : hashes) {
            Integer id = cached.get(hash);
            if (id == null || !evictable.remove(id)) continue;
            cached.remove(hash);
            free(id, held.get(id));
        }
    }

    /** Frees every cached block no sequence uses; returns how many. */
    synchronized int dropCache() {
        int n = evictable.size();
        while (!evictable.isEmpty()) {
            evictOldest();
            evictions--;
        }
        return n;
    }

    /** Blocks some sequence holds now. */
    synchronized int blocksInUse() { return held.size() - evictable.size(); }

    synchronized PrefixCacheStats stats() {
        return new PrefixCacheStats(cached.size(), evictable.size(), hitBlocks, evictions, evictable.size() * storage.blockBytes());
    }

    @Override
    public void close() { storage.close(); }

    /** A sequence's blocks: {@link #table()} maps position p to block table[p / BLOCK_POSITIONS]. */
    final class Lease implements AutoCloseable {
        private final int[] table;
        private final int cachedBlocks;
        private boolean closed;

        private Lease(int[] table, int cachedBlocks) {
            this.table = table;
            this.cachedBlocks = cachedBlocks;
        }

        int[] table() { return table; }

        int positions() { return table.length * KvBlockStorage.BLOCK_POSITIONS; }

        /** Leading positions whose rows came from the prefix cache (already computed). */
        int cachedPositions() { return cachedBlocks * KvBlockStorage.BLOCK_POSITIONS; }

        /** Gives the blocks back; the first {@code full.size()} blocks are complete with these hashes and may be cached. */
        void close(List<BlockHash> full) {
            synchronized (KvBlockPool.this) {
                if (closed) return;
                closed = true;
                for (int i = 0; i < table.length; i++) unpin(table[i], i < full.size() ? full.get(i) : null);
            }
        }

        @Override
        public void close() { close(List.of()); }
    }
}
