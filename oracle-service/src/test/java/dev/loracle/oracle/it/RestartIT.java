package dev.loracle.oracle.it;

import dev.loracle.ipfs.Cid;
import dev.loracle.oracle.TestDatabases;
import dev.loracle.oracle.journal.InferenceSpec;
import dev.loracle.oracle.journal.JournalEntry;
import dev.loracle.oracle.journal.RequestState;
import dev.loracle.oracle.journal.TxJournal;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigInteger;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A node stopped while a request is RUNNING (generation done or not, nothing sent) or SUBMITTED (state committed, tx not
 * sent yet): a new node on the same journal finishes it, and the chain shows exactly one fulfilment.
 */
class RestartIT {
    static LocalStack stack;
    static LocalStack.Chain chain;

    @TempDir
    Path cacheDir;

    @BeforeAll
    static void startChain() throws Exception {
        stack = LocalStack.get();
        chain = new LocalStack.Chain(null, stack);
    }

    @AfterAll
    static void stopChain() {
        if (chain != null) chain.close();
    }

    enum Checkpoint { RUNNING, SUBMITTED }

    @ParameterizedTest
    @EnumSource(Checkpoint.class)
    void restartAtCheckpointFinishesExactlyOnce(Checkpoint checkpoint) throws Exception {
        List<Cid> cids = stack.adapterCids().subList(1, 3);
        List<Integer> weights = List.of(5_000, 5_000);
        String prompt = "The little dog";
        long seed = 7 + checkpoint.ordinal();
        try (TestDatabases.Db db = TestDatabases.create(TestDatabases.Kind.H2)) {
            Map<String, Object> props = OracleNode.properties(stack, chain, db, cacheDir);
            HaltAt halt = new HaltAt(RequestState.valueOf(checkpoint.name()));
            BigInteger requestId;
            String id;
            try (OracleNode first = OracleNode.start(props, halt)) {
                requestId = chain.tellStory(cids, weights, prompt, 16, seed);
                id = InferenceSpec.chainId(requestId);
                assertThat(halt.reached.await(60, TimeUnit.SECONDS)).as("reached " + checkpoint).isTrue();
            } // stopped with the request in the checkpoint state
            assertThat(RestartSupport.stateIn(db, id)).isEqualTo(checkpoint.name());
            assertThat(chain.coordinator.isPending(requestId).send()).as("nothing fulfilled before the restart").isTrue();

            try (OracleNode second = OracleNode.start(props)) {
                JournalEntry done = second.awaitState(id, Set.of(RequestState.UNLOADED, RequestState.FAILED, RequestState.CANCELLED), Duration.ofSeconds(60));
                assertThat(done.state()).as(String.valueOf(done.reason())).isEqualTo(RequestState.UNLOADED);
                assertThat(second.bean(TxJournal.class).forRequest(id)).hasSize(1);
                String expected = stack.generateDirectly(cids, weights, prompt, 16, 8_000, 9_000, seed);
                assertThat(chain.storyTeller.stories(requestId).send().component5()).isEqualTo(expected);
                assertThat(OracleNodeIT.coordinatorLogs(chain, "fulfilled", requestId)).as("exactly one fulfilment").hasSize(1);
            }
        }
    }
}
