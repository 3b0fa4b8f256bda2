package dev.loracle.oracle.health;

import dev.loracle.ipfs.AdapterCache;
import dev.loracle.ipfs.CacheStats;
import dev.loracle.ipfs.IpfsEndpoint;
import dev.loracle.ipfs.IpfsEndpoints;
import dev.loracle.ipfs.KuboRpcClient;
import dev.loracle.oracle.chain.ChainIngestor;
import dev.loracle.oracle.chain.RpcGateway;
import dev.loracle.oracle.journal.RequestJournal;
import dev.loracle.oracle.pipeline.AdapterService;
import dev.loracle.oracle.pipeline.RequestPipeline;
import dev.loracle.oracle.runtime.RuntimeService;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;

/**
 * Health of the node's four dependencies: chain (RPC + ingestion), IPFS (adapter fetches), runtime, journal. Health is
 * public, so it shows no secrets: endpoints only as scheme://host:port (provider URLs carry API keys in their path or
 * query) and no error texts (they quote URLs); the logs have the details.
 */
@Configuration(proxyBeanMethods = false)
public class NodeHealth {

    @Bean
    HealthIndicator chainHealthIndicator(ObjectProvider<ChainIngestor> ingestor, ObjectProvider<RpcGateway> rpc) {
        return () -> {
            ChainIngestor i = ingestor.getIfAvailable();
            RpcGateway g = rpc.getIfAvailable();
            if (i == null || g == null) return Health.up().withDetail("chain", "disabled").build();
            Instant last = i.lastTick();
            boolean fresh = last != null && Duration.between(last, Instant.now()).toSeconds() < 30;
            Health.Builder b = fresh && i.lastError() == null ? Health.up() : Health.down();
            b.withDetail("head", i.head()).withDetail("websocket", i.webSocketUp() ? "up" : "down")
                    .withDetail("rpc", origin(String.valueOf(g.preferredEndpoint().url())));
            if (last != null) b.withDetail("lastIngestion", last.toString());
            b.withDetail("ingestionFailing", i.lastError() != null).withDetail("rpcErrorsSeen", g.lastError() != null);
            return b.build();
        };
    }

    /** DOWN when no IPFS endpoint answers its version call (probed at most every 5 s) or every breaker is open. */
    @Bean
    HealthIndicator ipfsHealthIndicator(AdapterCache cache, IpfsEndpoints endpoints) {
        var lastProbe = new java.util.concurrent.atomic.AtomicReference<java.util.Map.Entry<Instant, String>>();
        return () -> {
            CacheStats s = cache.stats();
            java.util.Map<String, String> breakers = new java.util.LinkedHashMap<>();
            for (IpfsEndpoint e : endpoints.endpoints()) breakers.put(e.name() + " " + origin(String.valueOf(e.url())), endpoints.breaker(e.name()).getState().name());
            var probe = lastProbe.get();
            if (probe == null || Duration.between(probe.getKey(), Instant.now()).toSeconds() >= 5) {
                String answer = null;
                for (IpfsEndpoint e : endpoints.endpoints()) {
                    try {
                        answer = new KuboRpcClient(e.url(), Duration.ofSeconds(2)).version();
                        break;
                    } catch (RuntimeException down) {
                        answer = null;
                    }
                }
                probe = java.util.Map.entry(Instant.now(), answer == null ? "" : answer);
                lastProbe.set(probe);
            }
            boolean reachable = !probe.getValue().isEmpty();
            boolean allOpen = breakers.values().stream().allMatch("OPEN"::equals);
            Health.Builder b = reachable && !allOpen ? Health.up() : Health.down();
            return b.withDetail("endpoints", breakers).withDetail("nodeVersion", probe.getValue()).withDetail("cacheHits", s.hits())
                    .withDetail("cacheMisses", s.misses()).withDetail("fetchFailures", s.fetchFailures())
                    .withDetail("diskBytes", s.diskBytes()).build();
        };
    }

    @Bean
    HealthIndicator runtimeHealthIndicator(RuntimeService runtime, RequestPipeline pipeline, AdapterService adapters) {
        return () -> {
            RuntimeService.Status s = runtime.status();
            Health.Builder b = s.usedBytes() < s.redLineBytes() ? Health.up() : Health.down();
            // the parsed-adapter cache: host memory with its own red line, outside the runtime figure (idle == base)
            var cache = adapters.parsedCache();
            return b.withDetail("backend", s.backend()).withDetail("usedBytes", s.usedBytes())
                    .withDetail("baseBytes", s.baseBytes()).withDetail("redLineBytes", s.redLineBytes())
                    .withDetail("parsedAdapterCache", Map.of("usedBytes", cache.bytes(),
                            "redLineBytes", cache.budget().redLine(), "adapters", cache.size()))
                    .withDetail("queueDepth", pipeline.queueDepth()).withDetail("accepting", pipeline.accepting()).build();
        };
    }

    /** scheme://host:port of a URL: enough to tell endpoints apart, without the path, query or user info. */
    public static String origin(String url) {
        try {
            java.net.URI u = java.net.URI.create(url);
            if (u.getHost() == null) return "<redacted>";
            return u.getScheme() + "://" + u.getHost() + (u.getPort() >= 0 ? ":" + u.getPort() : "");
        } catch (IllegalArgumentException e) {
            return "<redacted>";
        }
    }

    @Bean
    HealthIndicator journalHealthIndicator(RequestJournal journal) {
        return () -> {
            try {
                return Health.up().withDetail("requests", journal.countByState()).build();
            } catch (RuntimeException e) {
                return Health.down(e).build();
            }
        };
    }
}
