package dev.loracle.ipfs;

import java.time.Duration;

/**
 * A snapshot of {@link AdapterCache} counters.
 *
 * @param hits            calls served without a network fetch ({@code memoryHits + diskHits})
 * @param misses          calls that started a network fetch
 * @param coalesced       calls that waited for a fetch another caller had started (single-flight)
 * @param fetchFailures   network fetches that failed
 * @param evictions       entries removed from disk to stay under the byte budget
 * @param bytesFetched    content bytes fetched from the network
 * @param diskBytes       content bytes on disk now
 * @param memoryBytes     bytes held by the in-memory tier now
 * @param fetchLatencyTotal sum of successful fetch latencies; {@link #meanFetchLatency()} divides by {@code misses - fetchFailures}
 */
public record CacheStats(long hits, long memoryHits, long diskHits, long misses, long coalesced, long fetchFailures,
                         long evictions, long bytesFetched, long diskBytes, int diskEntries, long memoryBytes,
                         long memoryEntries, long pins, Duration fetchLatencyTotal, Duration fetchLatencyMax) {
    public Duration meanFetchLatency() {
        long fetched = misses - fetchFailures;
        return fetched <= 0 ? Duration.ZERO : fetchLatencyTotal.dividedBy(fetched);
    }
}
