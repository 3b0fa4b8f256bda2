package dev.loracle.oracle.metrics;

import dev.loracle.oracle.chain.CoordinatorClient;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.math.BigInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The oracle account's money as gauges: ETH balance (pays for gas; alert before it runs out) and fees credited by the
 * coordinator but not yet withdrawn. Read from the chain by {@link #refresh()} on the node's schedule, not on every
 * scrape, so a metrics scraper cannot turn into RPC load. NaN until the first successful read.
 */
public class WalletMetrics {
    private static final Logger log = LoggerFactory.getLogger(WalletMetrics.class);

    private final CoordinatorClient chain;
    private final AtomicReference<Double> balanceEth = new AtomicReference<>(Double.NaN);
    private final AtomicReference<Double> creditsEth = new AtomicReference<>(Double.NaN);

    public WalletMetrics(CoordinatorClient chain, MeterRegistry meters) {
        this.chain = chain;
        Gauge.builder("loracle.oracle.balance.eth", balanceEth, AtomicReference::get)
                .description("ETH balance of the oracle account").register(meters);
        Gauge.builder("loracle.oracle.credits.unclaimed.eth", creditsEth, AtomicReference::get)
                .description("fees credited to the oracle by the coordinator, not yet withdrawn").register(meters);
    }

    public void refresh() {
        try {
            balanceEth.set(eth(chain.balance()));
            creditsEth.set(eth(chain.unclaimedCredits()));
        } catch (RuntimeException e) {
            log.debug("wallet metrics not refreshed: {}", e.toString());
        }
    }

    private static double eth(BigInteger wei) {
        return new java.math.BigDecimal(wei).movePointLeft(18).doubleValue();
    }
}
