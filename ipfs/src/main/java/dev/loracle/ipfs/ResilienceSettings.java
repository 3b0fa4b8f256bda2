package dev.loracle.ipfs;

import java.time.Duration;

/**
 * Resilience4j settings applied per endpoint.
 *
 * @param maxAttempts          attempts per endpoint for transient errors (connection refused, 502/503/504, a
 *                             truncated stream, an attempt timeout); content errors are never retried
 * @param initialBackoff       first retry delay; doubles each further retry ({@code backoffMultiplier})
 * @param backoffMultiplier    exponential backoff factor
 * @param failureRateThreshold percentage of failed calls in the window that opens an endpoint's breaker
 * @param slidingWindowSize    calls in the breaker's count-based window
 * @param minimumCalls         calls before the breaker may open
 * @param openDuration         how long an open breaker skips its endpoint before probing again
 * @param attemptTimeout       wall-clock limit of one attempt (Resilience4j TimeLimiter): whole CAR download + verify
 * @param nodeTimeout          the {@code timeout=} passed to the node: how long it may search for missing blocks
 */
public record ResilienceSettings(int maxAttempts, Duration initialBackoff, double backoffMultiplier,
                                 float failureRateThreshold, int slidingWindowSize, int minimumCalls,
                                 Duration openDuration, Duration attemptTimeout, Duration nodeTimeout) {
    public ResilienceSettings {
        if (maxAttempts < 1 || slidingWindowSize < 1 || minimumCalls < 1 || backoffMultiplier < 1.0) {
            throw new IllegalArgumentException("invalid resilience settings");
        }
    }

    /** 3 attempts (200 ms, 400 ms backoff), breaker opens at 50% of 10 calls (min 4) for 30 s, 120 s attempts, 30 s node timeout. */
    public static ResilienceSettings defaults() {
        return new ResilienceSettings(3, Duration.ofMillis(200), 2.0, 50f, 10, 4, Duration.ofSeconds(30),
                Duration.ofSeconds(120), Duration.ofSeconds(30));
    }

    public ResilienceSettings withNodeTimeout(Duration value) {
        return new ResilienceSettings(maxAttempts, initialBackoff, backoffMultiplier, failureRateThreshold,
                slidingWindowSize, minimumCalls, openDuration, attemptTimeout, value);
    }

    public ResilienceSettings withAttemptTimeout(Duration value) {
        return new ResilienceSettings(maxAttempts, initialBackoff, backoffMultiplier, failureRateThreshold,
                slidingWindowSize, minimumCalls, openDuration, value, nodeTimeout);
    }

    public ResilienceSettings withRetry(int attempts, Duration initial) {
        return new ResilienceSettings(attempts, initial, backoffMultiplier, failureRateThreshold,
                slidingWindowSize, minimumCalls, openDuration, attemptTimeout, nodeTimeout);
    }

    public ResilienceSettings withBreaker(int windowSize, int minCalls, Duration open) {
        return new ResilienceSettings(maxAttempts, initialBackoff, backoffMultiplier, failureRateThreshold,
                windowSize, minCalls, open, attemptTimeout, nodeTimeout);
    }
}
