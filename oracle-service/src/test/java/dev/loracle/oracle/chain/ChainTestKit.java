package dev.loracle.oracle.chain;

import dev.loracle.oracle.config.OracleProperties;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.github.resilience4j.ratelimiter.RateLimiterConfig;
import io.github.resilience4j.ratelimiter.RateLimiterRegistry;
import io.github.resilience4j.retry.RetryConfig;
import io.github.resilience4j.retry.RetryRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Chain components wired by hand (no Spring) with the same resilience settings as application.yml. */
final class ChainTestKit {
    private ChainTestKit() {
    }

    static OracleProperties.Chain chain(List<String> rpcUrls, String coordinator, int confirmations, int txConfirmations) {
        return new OracleProperties.Chain(true, rpcUrls, "", coordinator, confirmations, txConfirmations, 0, 2000,
                Duration.ofMillis(200), 64, false, Duration.ofSeconds(2));
    }

    static OracleProperties.Tx tx(Duration stuckAfter) {
        return new OracleProperties.Tx(new BigDecimal("200"), BigDecimal.ONE, stuckAfter, 15, 3_000_000, Duration.ofMillis(100));
    }

    static RpcGateway gateway(OracleProperties.Chain chain) {
        return gateway(chain, new SimpleMeterRegistry());
    }

    static RpcGateway gateway(OracleProperties.Chain chain, io.micrometer.core.instrument.MeterRegistry meters) {
        var retry = RetryRegistry.of(Map.of("rpc", RetryConfig.custom().maxAttempts(2).waitDuration(Duration.ofMillis(50))
                .retryExceptions(RpcTransportException.class).ignoreExceptions(RpcErrorException.class).build()));
        var breakers = CircuitBreakerRegistry.of(Map.of("rpc", CircuitBreakerConfig.custom().slidingWindowSize(4)
                .minimumNumberOfCalls(2).waitDurationInOpenState(Duration.ofSeconds(30)).ignoreExceptions(RpcErrorException.class).build()));
        var limiter = RateLimiterRegistry.of(Map.of("rpc", RateLimiterConfig.custom().limitForPeriod(10_000)
                .limitRefreshPeriod(Duration.ofSeconds(1)).timeoutDuration(Duration.ofSeconds(1)).build()));
        return new RpcGateway(chain, retry, breakers, limiter, meters);
    }
}
