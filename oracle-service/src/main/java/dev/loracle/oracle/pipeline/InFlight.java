package dev.loracle.oracle.pipeline;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The requests this node is working on right now, each with the {@link System#nanoTime()} it was picked up at (for the
 * overhead metric). An entry lives from dispatch until the request leaves the node's hands (sent, failed, deferred), so
 * the map is bounded by the dispatch limit however many requests other oracles serve.
 */
final class InFlight {
    private final Map<String, Long> since = new ConcurrentHashMap<>();

    /** False when the request is in flight already. */
    boolean begin(String id) {
        return since.putIfAbsent(id, System.nanoTime()) == null;
    }

    /** When the request was picked up (nanoTime), or 0 when it is not in flight. */
    long since(String id) {
        return since.getOrDefault(id, 0L);
    }

    boolean contains(String id) {
        return since.containsKey(id);
    }

    void end(String id) {
        since.remove(id);
    }

    int size() {
        return since.size();
    }

    Map<String, Long> view() {
        return since;
    }
}
