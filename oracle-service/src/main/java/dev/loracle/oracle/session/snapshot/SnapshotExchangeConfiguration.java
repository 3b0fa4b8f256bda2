package dev.loracle.oracle.session.snapshot;

import dev.loracle.oracle.chain.CoordinatorClient;
import dev.loracle.oracle.chain.TransactionManager;
import dev.loracle.oracle.config.OracleProperties;
import dev.loracle.runtime.engine.InferenceEngine;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.URI;
import java.time.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The node's {@link KvSnapshotExchange}: over the configured IPFS nodes, signed with the oracle key, signers checked
 * against the coordinator. {@link KvSnapshotExchange#disabled()} (with a log line saying why) when it is switched off,
 * when the node has no chain (nothing to sign with or check against) or when the engine has no prefix cache.
 */
@Configuration(proxyBeanMethods = false)
public class SnapshotExchangeConfiguration {
    private static final Logger log = LoggerFactory.getLogger(SnapshotExchangeConfiguration.class);

    @Bean
    KvSnapshotExchange kvSnapshotExchange(SnapshotProperties settings, OracleProperties props, InferenceEngine engine,
                                          ObjectProvider<TransactionManager> transactions, ObjectProvider<CoordinatorClient> coordinator,
                                          MeterRegistry meters, Clock clock) {
        TransactionManager tx = transactions.getIfAvailable();
        CoordinatorClient chain = coordinator.getIfAvailable();
        String off = !settings.enabled() ? "loracle.session.snapshot.enabled=false"
                : tx == null || chain == null ? "no chain (loracle.chain.enabled=false): no oracle key to sign with, no registry to check signers"
                : !engine.config().prefixCache() ? "the engine's prefix cache is off"
                : null;
        if (off != null) {
            log.info("KV snapshot exchange off: {}; session turns resume from this node's own prefix cache or recompute", off);
            return KvSnapshotExchange.disabled();
        }
        log.info("KV snapshot exchange on: IPFS {}, fetch timeout {}, max {} bytes, chain of at most {} links",
                props.ipfs().apiUrls(), settings.fetchTimeout(), settings.maxBytes(), settings.maxChainLength());
        return IpfsKvSnapshotExchange.create(engine, props.ipfs().apiUrls().stream().map(URI::create).toList(), tx::signDigest,
                chain::isOracle, settings, meters, clock);
    }
}
