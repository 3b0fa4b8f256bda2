package dev.loracle.ipfs;

import java.time.Duration;

/** Observes every network attempt a {@link VerifiedFetcher} makes (for metrics and tests). */
@FunctionalInterface
public interface FetchListener {
    /**
     * @param error null when the attempt succeeded
     */
    void onAttempt(Cid cid, IpfsEndpoint endpoint, int attempt, long bytes, Duration elapsed, Throwable error);
}
