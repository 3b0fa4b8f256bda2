package dev.loracle.oracle.it;

import dev.loracle.contracts.devchain.DevAccounts;
import dev.loracle.ipfs.Cid;
import dev.loracle.oracle.TestDatabases;
import dev.loracle.oracle.journal.InferenceSpec;
import dev.loracle.oracle.journal.JournalEntry;
import dev.loracle.oracle.journal.RequestJournal;
import dev.loracle.oracle.journal.RequestState;
import dev.loracle.oracle.journal.TxJournal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigInteger;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** Deadlines (expired requests are not run) and the multi-oracle exclusive window (skip others' requests until it ends). */
class SchedulingRulesIT {
    @TempDir
    Path cacheDir;

    @Test
    void requestThatCannotMeetItsDeadlineExpiresWithoutAnyTransaction() throws Exception {
        LocalStack stack = LocalStack.get();
        List<Cid> cids = stack.adapterCids().subList(0, 1);
        try (LocalStack.Chain chain = new LocalStack.Chain(null, stack, c -> c.withStoryTimeout(1));
             TestDatabases.Db db = TestDatabases.create(TestDatabases.Kind.H2)) {
            Map<String, Object> props = OracleNode.properties(stack, chain, db, cacheDir);
            props.put("loracle.scheduler.deadline-margin", "2s");
            try (OracleNode node = OracleNode.start(props)) {
                BigInteger requestId = chain.tellStory(cids, List.of(10_000), "Too late", 8, 1);
                String id = InferenceSpec.chainId(requestId);
                JournalEntry e = node.awaitState(id, Set.of(RequestState.EXPIRED, RequestState.UNLOADED, RequestState.FAILED), Duration.ofSeconds(30));
                assertThat(e.state()).isEqualTo(RequestState.EXPIRED);
                assertThat(e.reason()).contains("deadline");
                assertThat(e.timings().runStartedAt()).as("never run").isNull();
                assertThat(node.bean(TxJournal.class).forRequest(id)).as("nothing sent").isEmpty();
                assertThat(chain.coordinator.isPending(requestId).send()).isTrue(); // the consumer may cancel for its refund
            }
        }
    }

    @Test
    void requestAssignedToAnotherOracleIsServedOnlyAfterItsExclusiveWindow() throws Exception {
        LocalStack stack = LocalStack.get();
        List<Cid> cids = stack.adapterCids().subList(0, 1);
        String other = DevAccounts.get(7).getAddress();
        try (LocalStack.Chain chain = new LocalStack.Chain(null, stack,
                c -> c.withOracles(List.of(LocalStack.ORACLE.getAddress(), other)).withExclusiveWindow(6L));
             TestDatabases.Db db = TestDatabases.create(TestDatabases.Kind.H2)) {
            try (OracleNode node = OracleNode.start(OracleNode.properties(stack, chain, db, cacheDir))) {
                RequestJournal journal = node.bean(RequestJournal.class);
                // round-robin assignment by requestId: send until one lands on the other (never started) oracle
                String foreign = null;
                for (int i = 0; i < 8 && foreign == null; i++) {
                    String id = InferenceSpec.chainId(chain.tellStory(cids, List.of(10_000), "Whose turn", 8, i));
                    JournalEntry e = OracleNode.awaitState(journal, id, Set.of(RequestState.values()), Duration.ofSeconds(10));
                    if (e.spec().assignedOracle().equalsIgnoreCase(other)) foreign = id;
                }
                assertThat(foreign).as("a request assigned to the other oracle").isNotNull();
                JournalEntry waiting = journal.get(foreign);
                long windowEndsMs = waiting.spec().exclusiveUntil() * 1000;
                Thread.sleep(Math.max(0, Math.min(2000, windowEndsMs - System.currentTimeMillis() - 1500)));
                assertThat(journal.get(foreign).state()).as("left to its assigned oracle during the window").isEqualTo(RequestState.RECEIVED);

                JournalEntry done = node.awaitState(foreign, Set.of(RequestState.UNLOADED, RequestState.FAILED), Duration.ofSeconds(30));
                assertThat(done.state()).isEqualTo(RequestState.UNLOADED);
                assertThat(done.timings().fetchStartedAt()).isGreaterThan(windowEndsMs);
            }
        }
    }
}
