package dev.loracle.oracle.pipeline;

import dev.loracle.runtime.lora.LoraAdapter;
import dev.loracle.runtime.memory.MemoryBudget;
import dev.loracle.runtime.memory.MemoryCategory;
import dev.loracle.runtime.memory.RedLineExceededException;
import dev.loracle.runtime.memory.Reservation;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Parsed adapters (host copies) kept for reuse, least recently used first out. Each entry holds a
 * {@link MemoryCategory#HOST_CACHE} reservation of its bytes in a {@link MemoryBudget} of its own whose red line is the
 * cache's limit: the cache is accounted and reported like the runtime's memory, yet stays out of the runtime's budget,
 * whose figure returns to the base exactly when nothing runs (a cache is full when idle, by design). Thread-safe.
 */
public final class ParsedAdapterCache {
    private record Entry(LoraAdapter adapter, Reservation reservation) {
    }

    private final MemoryBudget budget;
    private final Map<String, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);

    /** @param maxBytes the cache's red line: the most parsed-adapter bytes held at once */
    public ParsedAdapterCache(long maxBytes) {
        this.budget = new MemoryBudget("host:parsed-adapters", maxBytes);
    }

    /** The cache's own budget (used = bytes held, red line = the limit). */
    public MemoryBudget budget() {
        return budget;
    }

    /** The adapter cached under {@code key} (now the most recently used), or null. */
    public synchronized LoraAdapter get(String key) {
        Entry e = entries.get(key);
        return e == null ? null : e.adapter();
    }

    /**
     * Keeps {@code adapter} under {@code key}, dropping least recently used entries until its bytes fit under the red
     * line. Returns false (and keeps nothing) when it alone is above the limit or the key is cached already.
     */
    public synchronized boolean put(String key, LoraAdapter adapter) {
        if (entries.containsKey(key) || adapter.bytes() > budget.redLine()) return false;
        Iterator<Entry> eldest = entries.values().iterator();
        while (true) {
            try {
                entries.put(key, new Entry(adapter, budget.reserve(MemoryCategory.HOST_CACHE, adapter.bytes(), "parsed:" + key)));
                return true;
            } catch (RedLineExceededException full) {
                if (!eldest.hasNext()) return false; // cannot happen: an empty cache fits anything up to the red line
                eldest.next().reservation().close();
                eldest.remove();
            }
        }
    }

    /** Bytes held now. */
    public long bytes() {
        return budget.used();
    }

    public synchronized int size() {
        return entries.size();
    }

    /** Drops every entry (bytes back to 0). */
    public synchronized void clear() {
        entries.values().forEach(e -> e.reservation().close());
        entries.clear();
    }
}
