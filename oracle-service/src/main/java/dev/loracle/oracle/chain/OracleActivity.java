package dev.loracle.oracle.chain;

import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * When each oracle last ended a request on-chain (an {@code InferenceFulfilled} or {@code InferenceFailed} log naming it),
 * as seen by this node's ingestion. A node uses it to tell a busy assigned oracle from a dead one without any
 * coordination: an oracle that keeps ending requests is alive, so its late requests are left to it a while longer
 * instead of being generated twice.
 */
public final class OracleActivity {
    /** Bounded by the number of registered oracles; each entry is one address. */
    private final Map<String, Long> lastEndedMillis = new ConcurrentHashMap<>();

    public void ended(String oracle, long nowMillis) {
        lastEndedMillis.merge(oracle.toLowerCase(Locale.ROOT), nowMillis, Math::max);
    }

    /** Whether {@code oracle} ended a request on-chain within {@code windowMillis} before {@code nowMillis}. */
    public boolean activeWithin(String oracle, long nowMillis, long windowMillis) {
        Long last = lastEndedMillis.get(oracle.toLowerCase(Locale.ROOT));
        return last != null && nowMillis - last <= windowMillis;
    }
}
