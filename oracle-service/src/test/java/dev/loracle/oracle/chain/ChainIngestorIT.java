package dev.loracle.oracle.chain;

import dev.loracle.oracle.TestDatabases;
import dev.loracle.oracle.it.LocalStack;
import dev.loracle.oracle.journal.IngestionStore;
import dev.loracle.oracle.journal.InferenceSpec;
import dev.loracle.oracle.journal.JournalEntry;
import dev.loracle.oracle.journal.RequestJournal;
import dev.loracle.oracle.journal.TransitionListener;
import dev.loracle.oracle.pipeline.RequestIntake;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.support.StaticListableBeanFactory;
import org.springframework.jdbc.core.simple.JdbcClient;

import java.math.BigInteger;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Ingestion against a real Anvil + coordinator: backfill from the cursor, idempotence, reorg detection by block hash. */
class ChainIngestorIT {

    @Test
    void backfillsFromTheCursorAndWithdrawsRequestsReorgedOut() throws Exception {
        LocalStack stack = LocalStack.get();
        try (LocalStack.Chain chain = new LocalStack.Chain(null, stack); TestDatabases.Db db = TestDatabases.create(TestDatabases.Kind.H2)) {
            db.migrate();
            JdbcClient jdbc = JdbcClient.create(db.dataSource());
            RequestJournal journal = new RequestJournal(jdbc, Clock.systemUTC(), new StaticListableBeanFactory().getBeanProvider(TransitionListener.class));
            IngestionStore store = new IngestionStore(jdbc, Clock.systemUTC());
            List<String> journaled = new ArrayList<>();
            List<String> withdrawn = new ArrayList<>();
            RequestIntake intake = new RequestIntake() {
                @Override
                public void requestJournaled(String requestId) {
                    journaled.add(requestId);
                }

                @Override
                public void requestWithdrawn(String requestId, String reason) {
                    withdrawn.add(requestId + ": " + reason);
                }
            };
            var cfg = new dev.loracle.oracle.config.OracleProperties.Chain(true, List.of(chain.anvil.httpUrl()), "",
                    chain.deployment.coordinator(), 0, 0, chain.deployment.deployBlock(), 1, java.time.Duration.ofMillis(100), 64, false,
                    java.time.Duration.ofSeconds(2));
            try (RpcGateway rpc = ChainTestKit.gateway(cfg)) {
                ChainIngestor ingestor = new ChainIngestor(rpc, journal, store, intake, cfg, new SimpleMeterRegistry(), new OracleActivity());
                BigInteger first = chain.tellStory(stack.adapterCids().subList(0, 1), List.of(10_000), "One", 4, 1);
                BigInteger second = chain.tellStory(stack.adapterCids().subList(0, 1), List.of(10_000), "Two", 4, 2);
                ingestor.tick(); // max-log-range 1: the backfill walks block by block
                ingestor.tick();
                assertThat(journaled).containsExactly(InferenceSpec.chainId(first), InferenceSpec.chainId(second));
                JournalEntry e = journal.get(InferenceSpec.chainId(second));
                assertThat(e.spec().promptText()).isEqualTo("Two");
                assertThat(e.spec().assignedOracle()).isEqualToIgnoringCase(LocalStack.ORACLE.getAddress());
                assertThat(store.cursor(IngestionStore.COORDINATOR_CURSOR).orElseThrow().number())
                        .isEqualTo(chain.anvil.blockNumber().longValueExact());

                // the block holding the second request is replaced by an empty one (anvil sends no removed logs)
                chain.anvil.reorg(1);
                ingestor.tick();
                assertThat(withdrawn).singleElement().asString().startsWith(InferenceSpec.chainId(second)).contains("reorged out");
                assertThat(journaled).hasSize(2);
                assertThat(ingestor.lastError()).isNull();
            }
        }
    }

    @Test
    void splitsLogRangesTheRpcRefuses() throws Exception {
        LocalStack stack = LocalStack.get();
        try (LocalStack.Chain chain = new LocalStack.Chain(null, stack); TestDatabases.Db db = TestDatabases.create(TestDatabases.Kind.H2);
             RangeLimitingProxy proxy = new RangeLimitingProxy(chain.anvil.httpUrl(), 3)) {
            db.migrate();
            JdbcClient jdbc = JdbcClient.create(db.dataSource());
            RequestJournal journal = new RequestJournal(jdbc, Clock.systemUTC(), new StaticListableBeanFactory().getBeanProvider(TransitionListener.class));
            List<String> journaled = new ArrayList<>();
            RequestIntake intake = new RequestIntake() {
                @Override
                public void requestJournaled(String requestId) {
                    journaled.add(requestId);
                }

                @Override
                public void requestWithdrawn(String requestId, String reason) {
                }
            };
            List<BigInteger> ids = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                ids.add(chain.tellStory(stack.adapterCids().subList(0, 1), List.of(10_000), "Story " + i, 4, i));
                chain.anvil.mine(3); // spread the requests over a range wider than the proxy allows
            }
            var cfg = new dev.loracle.oracle.config.OracleProperties.Chain(true, List.of(proxy.url()), "",
                    chain.deployment.coordinator(), 0, 0, 0, 1000, java.time.Duration.ofMillis(100), 64, false,
                    java.time.Duration.ofSeconds(2));
            try (RpcGateway rpc = ChainTestKit.gateway(cfg)) {
                ChainIngestor ingestor = new ChainIngestor(rpc, journal, new IngestionStore(jdbc, Clock.systemUTC()), intake, cfg,
                        new SimpleMeterRegistry(), new OracleActivity());
                ingestor.tick();
                assertThat(ingestor.lastError()).isNull();
                assertThat(proxy.refused.get()).as("the RPC refused wide ranges").isPositive();
                assertThat(journaled).containsExactlyElementsOf(ids.stream().map(InferenceSpec::chainId).toList());
            }
        }
    }
}
