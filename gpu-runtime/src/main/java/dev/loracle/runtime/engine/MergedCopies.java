package dev.loracle.runtime.engine;

import dev.loracle.runtime.lora.LoraMath.WeightedTarget;
import dev.loracle.runtime.lora.LoraTarget;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * MERGED copies shared by adapter set: sequences asking MERGED for the same (adapter ids, weights) run on one
 * copy-on-write merged copy, made on first use and freed when the last of them releases it. Thread-safe; merges of
 * different sets are serialised (they share the backend's threads anyway).
 */
final class MergedCopies {
    private final Backend backend;
    private final Map<List<Object>, Entry> bySet = new HashMap<>();
    private long made;

    private static final class Entry {
        final WeightOverlay copy;
        final List<Object> key;
        int references;

        Entry(WeightOverlay copy, List<Object> key) {
            this.copy = copy;
            this.key = key;
        }
    }

    /** One reference to a merged copy; close() drops it (idempotent). */
    final class Handle implements AutoCloseable {
        private final Entry entry;
        private final AtomicBoolean open = new AtomicBoolean(true);

        private Handle(Entry entry) { this.entry = entry; }

        WeightOverlay copy() { return entry.copy; }

        @Override
        public void close() {
            if (open.compareAndSet(true, false)) release(entry);
        }
    }

    MergedCopies(Backend backend) {
        this.backend = backend;
    }

    /** The merged copy of {@code set} (members in canonical order), merging it now if nobody holds it. */
    synchronized Handle acquire(List<AdapterWeight> set) {
        List<Object> key = key(set);
        Entry e = bySet.get(key);
        if (e == null) {
            e = new Entry(backend.mergeInto(deltas(set), "merged-" + (++made)), key);
            bySet.put(key, e);
        }
        e.references++;
        return new Handle(e);
    }

    private synchronized void release(Entry e) {
        if (--e.references == 0) {
            bySet.remove(e.key);
            backend.release(e.copy);
        }
    }

    /** Sets merged now. */
    synchronized int size() { return bySet.size(); }

    private static List<Object> key(List<AdapterWeight> set) {
        List<Object> k = new ArrayList<>();
        for (AdapterWeight w : set) {
            k.add(w.adapter().id());
            k.add(w.weight());
        }
        return k;
    }

    /** The set's deltas by tensor, members in set order. */
    static Map<TensorId, List<WeightedTarget>> deltas(List<AdapterWeight> set) {
        Map<TensorId, List<WeightedTarget>> deltas = new TreeMap<>(Comparator.comparingInt(TensorId::layer).thenComparing(TensorId::kind));
        for (AdapterWeight w : set) {
            for (LoraTarget t : w.adapter().adapter().targets()) {
                deltas.computeIfAbsent(new TensorId(t.layer(), t.kind()), k -> new ArrayList<>()).add(new WeightedTarget(t, w.weight()));
            }
        }
        return deltas;
    }
}
