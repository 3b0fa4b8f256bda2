package dev.loracle.oracle;

import dev.loracle.oracle.chain.ChainIngestor;
import dev.loracle.oracle.chain.TransactionManager;
import dev.loracle.oracle.config.OracleProperties;
import dev.loracle.oracle.metrics.WalletMetrics;
import dev.loracle.oracle.pipeline.AdapterService;
import dev.loracle.oracle.pipeline.RequestPipeline;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Starts the node's loops once the context is ready (pipeline workers with restart recovery, chain ingestion, receipt
 * tracking) and stops them first on shutdown, so in-flight work reaches a journal checkpoint before the beans close.
 */
@Component
public class NodeLifecycle implements SmartLifecycle {
    private static final Logger log = LoggerFactory.getLogger(NodeLifecycle.class);

    private final RequestPipeline pipeline;
    private final ChainIngestor ingestor;
    private final TransactionManager transactions;
    private final OracleProperties props;
    private final WalletMetrics wallet;
    private final AdapterService adapters;
    private ScheduledExecutorService loops;
    private volatile boolean running;

    public NodeLifecycle(RequestPipeline pipeline, ObjectProvider<ChainIngestor> ingestor,
                         ObjectProvider<TransactionManager> transactions, OracleProperties props,
                         ObjectProvider<WalletMetrics> wallet, AdapterService adapters) {
        this.pipeline = pipeline;
        this.wallet = wallet.getIfAvailable();
        this.adapters = adapters;
        this.ingestor = ingestor.getIfAvailable();
        this.transactions = transactions.getIfAvailable();
        this.props = props;
    }

    @Override
    public void start() {
        pipeline.start();
        loops = Executors.newScheduledThreadPool(2, Thread.ofPlatform().name("chain-", 0).daemon().factory());
        if (ingestor != null) {
            long every = props.chain().pollInterval().toMillis();
            loops.scheduleWithFixedDelay(ingestor::tick, 0, every, TimeUnit.MILLISECONDS);
        }
        if (transactions != null) {
            long every = props.tx().receiptPollInterval().toMillis();
            loops.scheduleWithFixedDelay(() -> {
                try {
                    transactions.poll();
                } catch (RuntimeException e) {
                    log.warn("receipt tracking round failed: {}", e.getMessage());
                }
            }, every, every, TimeUnit.MILLISECONDS);
        }
        if (wallet != null) loops.scheduleWithFixedDelay(wallet::refresh, 0, 30, TimeUnit.SECONDS);
        if (!props.ipfs().pinnedCids().isEmpty()) loops.execute(this::prewarm);
        running = true;
        log.info("oracle node started (chain {})", ingestor != null ? "on" : "off");
    }

    /** Pinned adapters: fetched and parsed at start-up so their first requests find them warm. */
    private void prewarm() {
        for (String cid : props.ipfs().pinnedCids()) {
            try {
                adapters.prewarm(cid);
                log.info("pinned adapter {} pre-warmed", cid);
            } catch (RuntimeException e) {
                log.warn("pinned adapter {} could not be pre-warmed: {}", cid, e.getMessage());
            }
        }
    }

    @Override
    public void stop() {
        running = false;
        if (ingestor != null) ingestor.stop();
        pipeline.close();
        if (loops != null) {
            loops.shutdownNow();
            try {
                loops.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        log.info("oracle node stopped");
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    /** Stop before the web server's graceful shutdown phase ends, and before the data source closes. */
    @Override
    public int getPhase() {
        return SmartLifecycle.DEFAULT_PHASE - 1024;
    }
}
