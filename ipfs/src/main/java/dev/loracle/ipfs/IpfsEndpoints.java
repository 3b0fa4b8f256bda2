package dev.loracle.ipfs;

import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.core.IntervalFunction;
import io.github.resilience4j.retry.Retry;
import io.github.resilience4j.retry.RetryConfig;
import io.github.resilience4j.timelimiter.TimeLimiter;
import io.github.resilience4j.timelimiter.TimeLimiterConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeoutException;

/**
 * An ordered list of endpoints (local node first, gateways after) with Resilience4j around each: a retry with
 * exponential backoff for transient errors only, a circuit breaker per endpoint, and a time limit per attempt.
 * {@link #execute} tries the endpoints in order and fails over to the next one when an endpoint is unreachable, its
 * breaker is open, it does not have the content, or it serves data that fails verification.
 */
public final class IpfsEndpoints implements AutoCloseable {
    /** Work done against one endpoint within one attempt. */
    @FunctionalInterface
    public interface EndpointCall<T> {
        T call(IpfsEndpoint endpoint, int attempt) throws Exception;
    }

    private record Guard(IpfsEndpoint endpoint, CircuitBreaker breaker, Retry retry, TimeLimiter limiter) {
    }

    private final List<Guard> guards;
    private final ResilienceSettings settings;
    private final ExecutorService attempts = Executors.newVirtualThreadPerTaskExecutor();

    private IpfsEndpoints(List<IpfsEndpoint> endpoints, ResilienceSettings settings) {
        if (endpoints.isEmpty()) {
            throw new IllegalArgumentException("at least one IPFS endpoint is needed");
        }
        this.settings = settings;
        RetryConfig retryConfig = RetryConfig.custom()
                .maxAttempts(settings.maxAttempts())
                .intervalFunction(IntervalFunction.ofExponentialBackoff(settings.initialBackoff(), settings.backoffMultiplier()))
                .retryOnException(IpfsEndpoints::isTransient)
                .failAfterMaxAttempts(false)
                .build();
        CircuitBreakerConfig breakerConfig = CircuitBreakerConfig.custom()
                .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                .slidingWindowSize(settings.slidingWindowSize())
                .minimumNumberOfCalls(settings.minimumCalls())
                .failureRateThreshold(settings.failureRateThreshold())
                .waitDurationInOpenState(settings.openDuration())
                .permittedNumberOfCallsInHalfOpenState(1)
                // An endpoint that is down or serves bad data is unhealthy; content it lacks is not its fault.
                .recordException(t -> isTransient(t) || t instanceof VerificationException)
                .build();
        TimeLimiterConfig limiterConfig = TimeLimiterConfig.custom()
                .timeoutDuration(settings.attemptTimeout())
                .cancelRunningFuture(true)
                .build();
        List<Guard> list = new ArrayList<>();
        Map<String, IpfsEndpoint> seen = new LinkedHashMap<>();
        for (IpfsEndpoint e : endpoints) {
            if (seen.put(e.name(), e) != null) {
                throw new IllegalArgumentException("duplicate endpoint name " + e.name());
            }
            list.add(new Guard(e, CircuitBreaker.of("ipfs-" + e.name(), breakerConfig), Retry.of("ipfs-" + e.name(), retryConfig),
                    TimeLimiter.of("ipfs-" + e.name(), limiterConfig)));
        }
        this.guards = List.copyOf(list);
    }

    public static IpfsEndpoints of(List<IpfsEndpoint> endpoints, ResilienceSettings settings) {
        return new IpfsEndpoints(List.copyOf(endpoints), Objects.requireNonNull(settings, "settings"));
    }

    public static IpfsEndpoints of(IpfsEndpoint... endpoints) {
        return of(List.of(endpoints), ResilienceSettings.defaults());
    }

    /** Errors worth another attempt at the same endpoint: the endpoint, not the content, is the problem. */
    public static boolean isTransient(Throwable t) {
        return t instanceof IpfsTransportException
                || (t instanceof IpfsRpcException rpc && rpc.isTransient())
                || t instanceof TimeoutException;
    }

    public List<IpfsEndpoint> endpoints() {
        return guards.stream().map(Guard::endpoint).toList();
    }

    public ResilienceSettings settings() {
        return settings;
    }

    /** The breaker of the named endpoint (for health checks and metrics). */
    public CircuitBreaker breaker(String endpointName) {
        return guards.stream().filter(g -> g.endpoint().name().equals(endpointName)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no endpoint named " + endpointName)).breaker();
    }

    public Retry retry(String endpointName) {
        return guards.stream().filter(g -> g.endpoint().name().equals(endpointName)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no endpoint named " + endpointName)).retry();
    }

    /**
     * Runs {@code call} against the endpoints in order until one succeeds. Content-level errors that no other
     * endpoint can fix ({@link ContentTooLargeException}, {@link UnsupportedContentException}) are thrown at once.
     * If every endpoint lacked the content: {@link ContentNotFoundException}; otherwise
     * {@link IpfsUnavailableException} summarising each endpoint's failure (causes suppressed).
     */
    public <T> T execute(String what, EndpointCall<T> call) {
        List<String> failures = new ArrayList<>();
        List<Throwable> causes = new ArrayList<>();
        ContentNotFoundException notFound = null;
        boolean onlyNotFound = true;
        for (Guard guard : guards) {
            int[] attempt = {0};
            try {
                return guard.retry().executeCallable(() -> guard.breaker().executeCallable(
                        () -> timeLimited(guard, call, ++attempt[0])));
            } catch (ContentTooLargeException | UnsupportedContentException e) {
                throw e;
            } catch (ContentNotFoundException e) {
                notFound = e;
                failures.add(guard.endpoint().name() + ": " + e.getMessage());
                causes.add(e);
            } catch (CallNotPermittedException e) {
                onlyNotFound = false;
                failures.add(guard.endpoint().name() + ": circuit breaker open, skipped");
                causes.add(e);
            } catch (Exception e) {
                onlyNotFound = false;
                failures.add(guard.endpoint().name() + " (after " + attempt[0] + " attempt(s)): " + e.getMessage());
                causes.add(e);
            }
        }
        IpfsException error;
        if (onlyNotFound && notFound != null) {
            error = guards.size() == 1 ? notFound
                    : new ContentNotFoundException(notFound.cid(), "no endpoint had it: " + String.join("; ", failures));
        } else if (causes.size() == 1 && causes.getFirst() instanceof IpfsException single) {
            error = single;
        } else if (causes.stream().allMatch(c -> c instanceof VerificationException)) {
            error = new VerificationException(what + ": every endpoint served data that failed verification: "
                    + String.join("; ", failures));
        } else {
            error = new IpfsUnavailableException(what + " failed on all " + guards.size() + " endpoint(s): "
                    + String.join("; ", failures));
        }
        for (Throwable c : causes) {
            if (c != error) {
                error.addSuppressed(c);
            }
        }
        throw error;
    }

    private <T> T timeLimited(Guard guard, EndpointCall<T> call, int attempt) throws Exception {
        try {
            return guard.limiter().executeFutureSupplier(() -> attempts.submit(() -> call.call(guard.endpoint(), attempt)));
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception ex ? ex : e;
        } catch (TimeoutException e) {
            throw new IpfsTransportException("attempt " + attempt + " on " + guard.endpoint().name() + " exceeded "
                    + guard.limiter().getTimeLimiterConfig().getTimeoutDuration().toMillis() + " ms", e);
        }
    }

    @Override
    public void close() {
        attempts.shutdownNow();
    }
}
