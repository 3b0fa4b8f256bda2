package dev.loracle.oracle.chain;

import dev.loracle.oracle.config.OracleProperties;
import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.github.resilience4j.ratelimiter.RateLimiter;
import io.github.resilience4j.ratelimiter.RateLimiterRegistry;
import io.github.resilience4j.ratelimiter.RequestNotPermitted;
import io.github.resilience4j.retry.Retry;
import io.github.resilience4j.retry.RetryRegistry;
import io.micrometer.core.instrument.MeterRegistry;
import okhttp3.OkHttpClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.web3j.protocol.Web3j;
import org.web3j.protocol.core.BatchRequest;
import org.web3j.protocol.core.BatchResponse;
import org.web3j.protocol.core.DefaultBlockParameter;
import org.web3j.protocol.core.Request;
import org.web3j.protocol.core.Response;
import org.web3j.protocol.core.methods.response.EthBlock;
import org.web3j.protocol.core.methods.response.EthGetTransactionReceipt;
import org.web3j.protocol.core.methods.response.TransactionReceipt;
import org.web3j.protocol.http.HttpService;

import java.io.IOException;
import java.math.BigInteger;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Every JSON-RPC call of the node goes through here: one rate limiter for the node, and per endpoint a retry (transport
 * errors, with backoff) inside a circuit breaker; when an endpoint fails the next configured URL is tried (failover) and
 * becomes the preferred one. JSON-RPC error answers are returned to the caller as {@link RpcErrorException} unretried.
 */
public class RpcGateway implements AutoCloseable {
    static final int BATCH_SIZE = 100;
    private static final Logger log = LoggerFactory.getLogger(RpcGateway.class);

    /** One RPC URL with its client and resilience state. */
    public record Endpoint(String url, Web3j web3j, Retry retry, CircuitBreaker breaker) {
    }

    private final List<Endpoint> endpoints = new ArrayList<>();
    private final RateLimiter rateLimiter;
    private final AtomicInteger preferred = new AtomicInteger();
    private final AtomicReference<Instant> lastSuccess = new AtomicReference<>();
    private final AtomicReference<String> lastError = new AtomicReference<>();
    private final MeterRegistry meters;

    public RpcGateway(OracleProperties.Chain chain, RetryRegistry retries, CircuitBreakerRegistry breakers,
                      RateLimiterRegistry limiters, MeterRegistry meters) {
        this.meters = meters;
        OkHttpClient http = new OkHttpClient.Builder()
                .callTimeout(chain.rpcTimeout()).connectTimeout(chain.rpcTimeout()).readTimeout(chain.rpcTimeout()).build();
        for (int i = 0; i < chain.rpcUrls().size(); i++) {
            String url = chain.rpcUrls().get(i);
            String name = "rpc-" + i;
            endpoints.add(new Endpoint(url, Web3j.build(new HttpService(url, http)),
                    retries.retry(name, "rpc"), breakers.circuitBreaker(name, "rpc")));
        }
        this.rateLimiter = limiters.rateLimiter("rpc", "rpc");
    }

    /**
     * Sends one request built by {@code request} for the current endpoint; on transport failure after retries (or an open
     * breaker) the next endpoint gets the same request. Throws {@link RpcErrorException} for a JSON-RPC error answer and
     * {@link RpcUnavailableException} when no endpoint answered.
     */
    public <R extends Response<?>> R send(String method, Function<Web3j, Request<?, R>> request) {
        return guarded(method, e -> sendOnce(method, e, request));
    }

    /**
     * The receipts of {@code txHashes} (empty where none is mined), asked in JSON-RPC batches of up to
     * {@value #BATCH_SIZE}: one round trip for every open transaction instead of one each. An endpoint that answers
     * the batch with an error is asked one hash at a time.
     */
    public Map<String, Optional<TransactionReceipt>> receipts(List<String> txHashes) {
        return batched("eth_getTransactionReceipt", txHashes, (w, h) -> w.ethGetTransactionReceipt(h),
                EthGetTransactionReceipt::getTransactionReceipt);
    }

    /**
     * Whether the node knows each of {@code txHashes} (pending in its pool or mined), batched like {@link #receipts}:
     * a transaction it does not know was dropped or never arrived.
     */
    public Map<String, Boolean> known(List<String> txHashes) {
        return batched("eth_getTransactionByHash", txHashes, (w, h) -> w.ethGetTransactionByHash(h), t -> t.getTransaction().isPresent());
    }

    /**
     * The hashes of the canonical blocks {@code numbers} (empty where the node has no such block yet), batched like
     * {@link #receipts}.
     */
    public Map<Long, Optional<String>> blockHashes(List<Long> numbers) {
        return batched("eth_getBlockByNumber", numbers,
                (w, n) -> w.ethGetBlockByNumber(DefaultBlockParameter.valueOf(BigInteger.valueOf(n)), false),
                b -> Optional.ofNullable(b.getBlock()).map(EthBlock.Block::getHash));
    }

    /** One call per key, sent in JSON-RPC batches of {@value #BATCH_SIZE}; an endpoint that refuses batches is asked one at a time. */
    private <K, T extends Response<?>, V> Map<K, V> batched(String method, List<K> keys, BiFunction<Web3j, K, Request<?, T>> request,
                                                          Function<T, V> value) {
        Map<K, V> out = new HashMap<>();
        for (int from = 0; from < keys.size(); from += BATCH_SIZE) {
            List<K> chunk = keys.subList(from, Math.min(keys.size(), from + BATCH_SIZE));
            try {
                out.putAll(guarded(method + "[batch]", e -> batchOnce(e, method, chunk, request, value)));
            } catch (RpcErrorException batchRefused) {
                log.debug("batched {} refused ({}); asking one at a time", method, batchRefused.getMessage());
                for (K k : chunk) out.put(k, value.apply(send(method, w -> request.apply(w, k))));
            }
        }
        return out;
    }

    private static <K, T extends Response<?>, V> Map<K, V> batchOnce(Endpoint e, String method, List<K> keys,
                                                                    BiFunction<Web3j, K, Request<?, T>> request, Function<T, V> value) {
        BatchRequest batch = e.web3j().newBatch();
        Map<Long, K> byId = new HashMap<>();
        for (K k : keys) {
            Request<?, T> r = request.apply(e.web3j(), k);
            byId.put(r.getId(), k);
            batch.add(r);
        }
        BatchResponse answer;
        try {
            answer = batch.send();
        } catch (IOException io) {
            throw new RpcTransportException(method + "[batch] at " + e.url() + ": " + io.getMessage(), io);
        } catch (RuntimeException broken) {
            throw new RpcTransportException(method + "[batch] at " + e.url() + ": " + broken, broken);
        }
        Map<K, V> out = new HashMap<>();
        for (Response<?> r : answer.getResponses()) {
            if (r.hasError()) {
                throw new RpcErrorException(method + "[batch]", r.getError().getCode(), r.getError().getMessage(), r.getError().getData());
            }
            K k = byId.get(r.getId());
            @SuppressWarnings("unchecked") T typed = (T) r; // the batch answers each request with its own response type
            if (k != null) out.put(k, value.apply(typed));
        }
        if (!out.keySet().containsAll(keys)) {
            throw new RpcTransportException(method + "[batch] at " + e.url() + ": answer lacks some of the "
                    + keys.size() + " results asked for", null);
        }
        return out;
    }

    /** Runs {@code call} on the current endpoint with its retry, breaker and the rate limiter; fails over on transport errors. */
    private <R> R guarded(String method, Function<Endpoint, R> callOn) {
        meters.counter("loracle.rpc.requests", "method", method).increment();
        RuntimeException last = null;
        int start = preferred.get();
        for (int k = 0; k < endpoints.size(); k++) {
            int index = (start + k) % endpoints.size();
            Endpoint e = endpoints.get(index);
            Supplier<R> call = () -> callOn.apply(e);
            Supplier<R> guarded = RateLimiter.decorateSupplier(rateLimiter,
                    CircuitBreaker.decorateSupplier(e.breaker(), Retry.decorateSupplier(e.retry(), call)));
            try {
                R r = guarded.get();
                if (index != start && preferred.compareAndSet(start, index)) {
                    log.warn("RPC failover: now using {} (endpoint {})", e.url(), index);
                }
                lastSuccess.set(Instant.now());
                return r;
            } catch (RpcErrorException answer) {
                lastSuccess.set(Instant.now());
                throw answer;
            } catch (RpcTransportException | CallNotPermittedException failure) {
                last = failure;
                lastError.set(Instant.now() + " " + e.url() + ": " + failure.getMessage());
                meters.counter("loracle.rpc.errors", "endpoint", String.valueOf(index), "method", method).increment();
            } catch (RequestNotPermitted limited) {
                throw new RpcUnavailableException("RPC rate limit reached for " + method, limited);
            }
        }
        throw new RpcUnavailableException("no RPC endpoint answered " + method + " (" + endpoints.size() + " configured)", last);
    }

    private static <R extends Response<?>> R sendOnce(String method, Endpoint e, Function<Web3j, Request<?, R>> request) {
        R response;
        try {
            response = request.apply(e.web3j()).send();
        } catch (IOException io) {
            throw new RpcTransportException(method + " at " + e.url() + ": " + io.getMessage(), io);
        } catch (RuntimeException broken) {
            if (broken instanceof RpcErrorException) throw broken;
            throw new RpcTransportException(method + " at " + e.url() + ": " + broken, broken);
        }
        if (response == null) throw new RpcTransportException(method + " at " + e.url() + ": empty response", null);
        if (response.hasError()) {
            Response.Error err = response.getError();
            throw new RpcErrorException(method, err.getCode(), err.getMessage(), err.getData());
        }
        return response;
    }

    public List<Endpoint> endpoints() {
        return List.copyOf(endpoints);
    }

    public Endpoint preferredEndpoint() {
        return endpoints.get(preferred.get());
    }

    public Instant lastSuccess() {
        return lastSuccess.get();
    }

    public String lastError() {
        return lastError.get();
    }

    @Override
    public void close() {
        endpoints.forEach(e -> e.web3j().shutdown());
    }
}
