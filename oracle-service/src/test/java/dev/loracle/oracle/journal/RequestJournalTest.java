package dev.loracle.oracle.journal;

import dev.loracle.oracle.TestDatabases;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.springframework.beans.factory.support.StaticListableBeanFactory;
import org.springframework.jdbc.core.simple.JdbcClient;

import java.math.BigInteger;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The journal against H2 and the real local PostgreSQL (fresh schema per test, dropped after). */
class RequestJournalTest {
    private TestDatabases.Db db;
    private final List<String> transitions = new ArrayList<>();

    @AfterEach
    void dropDatabase() {
        if (db != null) db.close();
    }

    private RequestJournal journal(TestDatabases.Kind kind) {
        db = TestDatabases.create(kind);
        db.migrate();
        var beans = new StaticListableBeanFactory();
        beans.addBean("recorder", (TransitionListener) (e, from) -> transitions.add(from + "->" + e.state()));
        return new RequestJournal(JdbcClient.create(db.dataSource()), Clock.systemUTC(), beans.getBeanProvider(TransitionListener.class));
    }

    static InferenceSpec spec(String id) {
        return new InferenceSpec(id, RequestOrigin.CHAIN, "0x" + "ab".repeat(20), "0x" + "11".repeat(32),
                List.of(new AdapterSpec(new byte[]{1, 0x55, 0x12, 0x20, 9}, 7_500), new AdapterSpec(new byte[]{1, 0x70, 2}, -2_500)),
                "Once upon a time".getBytes(), 32, 0, 10_000, new BigInteger("18446744073709551615"), 200_000,
                1_900_000_000L, new BigInteger("123456789012345678901234"), "0x" + "cd".repeat(20), 1_800_000_000L);
    }

    @ParameterizedTest
    @EnumSource(TestDatabases.Kind.class)
    void recordsOnceAndReadsBackEveryField(TestDatabases.Kind kind) {
        RequestJournal journal = journal(kind);
        InferenceSpec spec = spec(InferenceSpec.chainId(BigInteger.valueOf(42)));
        ChainOrigin origin = new ChainOrigin(7, "0x" + "77".repeat(32), 3, "0x" + "88".repeat(32));

        assertThat(journal.record(spec, origin)).isTrue();
        assertThat(journal.record(spec, origin)).as("duplicate event").isFalse();

        JournalEntry entry = journal.get(spec.id());
        assertThat(entry.spec()).isEqualTo(spec);
        assertThat(entry.spec().requestId()).isEqualTo(BigInteger.valueOf(42));
        assertThat(entry.chainOrigin()).isEqualTo(origin);
        assertThat(entry.state()).isEqualTo(RequestState.RECEIVED);
        assertThat(entry.spec().adapterSetKey()).isEqualTo(spec.adapterSetKey()).hasSize(40);

        InferenceSpec r = spec(InferenceSpec.chainId(BigInteger.valueOf(43)));
        InferenceSpec chat = new InferenceSpec(r.id(), r.origin(), r.consumer(), r.modelId(), r.adapters(),
                "[{\"role\":\"user\",\"content\":\"Hi\"}]".getBytes(), r.maxTokens(), r.temperature(), r.topP(), r.seed(),
                r.callbackGasLimit(), r.deadline(), r.fee(), r.assignedOracle(), r.exclusiveUntil(), PromptFormat.CHAT);
        journal.record(chat, origin);
        assertThat(journal.get(chat.id()).spec()).isEqualTo(chat);
        assertThat(journal.get(chat.id()).spec().promptFormat()).isEqualTo(PromptFormat.CHAT);
    }

    @ParameterizedTest
    @EnumSource(TestDatabases.Kind.class)
    void walksTheHappyPathWithTimingsOutputAndTx(TestDatabases.Kind kind) {
        RequestJournal journal = journal(kind);
        String id = InferenceSpec.chainId(BigInteger.ONE);
        journal.record(spec(id), null);
        journal.transition(id, RequestState.RECEIVED, RequestState.FETCHING, null);
        journal.transition(id, RequestState.FETCHING, RequestState.RUNNING, null);
        journal.recordPartialOutput(id, "Once upon", 2);
        assertThat(journal.get(id).output()).isEqualTo("Once upon");
        journal.recordResult(id, "Once upon a time", 4, "0x" + "aa".repeat(32), 1234);
        journal.transition(id, RequestState.RUNNING, RequestState.SUBMITTED, null);
        journal.recordTx(id, "0x" + "bb".repeat(32), "FULFIL");
        journal.transition(id, RequestState.SUBMITTED, RequestState.CONFIRMED, null);
        JournalEntry done = journal.transition(id, RequestState.CONFIRMED, RequestState.UNLOADED, null);

        assertThat(done.output()).isEqualTo("Once upon a time");
        assertThat(done.outputTokens()).isEqualTo(4);
        assertThat(done.generationNanos()).isEqualTo(1234);
        assertThat(done.txHash()).isEqualTo("0x" + "bb".repeat(32));
        assertThat(done.version()).isEqualTo(5);
        var t = done.timings();
        assertThat(List.of(t.fetchStartedAt(), t.runStartedAt(), t.submittedAt(), t.confirmedAt(), t.unloadedAt(), t.finishedAt()))
                .doesNotContainNull().allSatisfy(v -> assertThat(v).isGreaterThanOrEqualTo(t.seenAt()));
        assertThat(transitions).containsExactly("RECEIVED->FETCHING", "FETCHING->RUNNING", "RUNNING->SUBMITTED",
                "SUBMITTED->CONFIRMED", "CONFIRMED->UNLOADED");
    }

    @ParameterizedTest
    @EnumSource(TestDatabases.Kind.class)
    void guardsRejectIllegalAndStaleTransitions(TestDatabases.Kind kind) {
        RequestJournal journal = journal(kind);
        String id = InferenceSpec.chainId(BigInteger.TWO);
        journal.record(spec(id), null);

        assertThatThrownBy(() -> journal.transition(id, RequestState.RECEIVED, RequestState.SUBMITTED, null))
                .isInstanceOf(StaleStateException.class).hasMessageContaining("illegal transition RECEIVED -> SUBMITTED");
        assertThatThrownBy(() -> journal.transition(id, RequestState.RUNNING, RequestState.SUBMITTED, null))
                .isInstanceOf(StaleStateException.class).hasMessageContaining("is RECEIVED, expected RUNNING");
        assertThatThrownBy(() -> journal.recordResult(id, "x", 1, "0x", 1)).isInstanceOf(StaleStateException.class);

        journal.fail(id, RequestState.RECEIVED, RequestState.FAILED, 2, "adapter bafy... not found after 3 attempts");
        JournalEntry failed = journal.get(id);
        assertThat(failed.failureCode()).isEqualTo(2);
        assertThat(failed.reason()).contains("not found");
        assertThat(journal.unreportedFailures(10)).extracting(JournalEntry::id).containsExactly(id);
        journal.markFailureReported(id);
        assertThat(journal.unreportedFailures(10)).isEmpty();

        // operator retry starts over
        JournalEntry retried = journal.transition(id, RequestState.FAILED, RequestState.RECEIVED, "retried by admin");
        assertThat(retried.attempts()).isEqualTo(1);
        assertThat(retried.failureCode()).isNull();
    }

    @ParameterizedTest
    @EnumSource(TestDatabases.Kind.class)
    void concurrentTransitionsHaveExactlyOneWinner(TestDatabases.Kind kind) throws Exception {
        RequestJournal journal = journal(kind);
        String id = InferenceSpec.chainId(BigInteger.TEN);
        journal.record(spec(id), null);
        try (var pool = Executors.newFixedThreadPool(8)) {
            List<Callable<Boolean>> racers = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                racers.add(() -> {
                    try {
                        journal.transition(id, RequestState.RECEIVED, RequestState.FETCHING, null);
                        return true;
                    } catch (StaleStateException lost) {
                        return false;
                    }
                });
            }
            long winners = 0;
            for (Future<Boolean> f : pool.invokeAll(racers)) if (f.get()) winners++;
            assertThat(winners).isEqualTo(1);
        }
        assertThat(journal.get(id).version()).isEqualTo(1);
    }

    @ParameterizedTest
    @EnumSource(TestDatabases.Kind.class)
    void listsByStateAndCounts(TestDatabases.Kind kind) {
        RequestJournal journal = journal(kind);
        for (int i = 1; i <= 3; i++) journal.record(spec(InferenceSpec.chainId(BigInteger.valueOf(i))), null);
        journal.transition(InferenceSpec.chainId(BigInteger.ONE), RequestState.RECEIVED, RequestState.EXPIRED, "deadline passed");
        assertThat(journal.findByStates(10, RequestState.RECEIVED)).hasSize(2);
        assertThat(journal.countByState()).containsEntry(RequestState.RECEIVED, 2L).containsEntry(RequestState.EXPIRED, 1L);
        assertThat(journal.recent(2)).hasSize(2);
    }

    @ParameterizedTest
    @EnumSource(TestDatabases.Kind.class)
    void cursorBlocksAndTransactions(TestDatabases.Kind kind) {
        RequestJournal journal = journal(kind);
        var jdbc = JdbcClient.create(db.dataSource());
        var ingestion = new IngestionStore(jdbc, Clock.systemUTC());
        assertThat(ingestion.cursor("c")).isEmpty();
        ingestion.advance("c", new IngestionStore.BlockRef(10, "0xa"));
        ingestion.rememberBlock(new IngestionStore.BlockRef(8, "0x8"));
        ingestion.advance("c", new IngestionStore.BlockRef(12, "0xc"));
        assertThat(ingestion.cursor("c")).contains(new IngestionStore.BlockRef(12, "0xc"));
        assertThat(ingestion.blocksFrom(9)).extracting(IngestionStore.BlockRef::number).containsExactly(10L, 12L);
        ingestion.rewind("c", 10, new IngestionStore.BlockRef(9, "0x9"));
        assertThat(ingestion.blocksFrom(0)).extracting(IngestionStore.BlockRef::number).containsExactly(8L, 9L);
        assertThat(ingestion.cursor("c")).contains(new IngestionStore.BlockRef(9, "0x9"));

        var txs = new TxJournal(jdbc, Clock.systemUTC());
        assertThat(txs.maxNonce()).isEmpty();
        TxRecord tx = txs.insert("0x01", TxRecord.TxKind.FULFIL, 5, "0xh1", "0xraw1", BigInteger.TEN, BigInteger.ONE, 300_000);
        txs.rebroadcast(tx.id(), 5, "0xh2", "0xraw2", BigInteger.valueOf(12), BigInteger.TWO);
        TxRecord bumped = txs.get(tx.id());
        assertThat(bumped.hashes()).containsExactly("0xh1", "0xh2");
        assertThat(bumped.broadcasts()).isEqualTo(2);
        assertThat(txs.maxNonce()).contains(5L);
        txs.markMined(tx.id(), "0xh2", 20, "0xb", 50_000, BigInteger.valueOf(100), true);
        assertThat(txs.open()).extracting(TxRecord::status).containsExactly(TxRecord.TxStatus.MINED);
        txs.setStatus(tx.id(), TxRecord.TxStatus.CONFIRMED);
        assertThat(txs.open()).isEmpty();
        assertThat(txs.latestForRequest("0x01", TxRecord.TxKind.FULFIL)).get().extracting(TxRecord::gasUsed).isEqualTo(50_000L);
        assertThat(journal).isNotNull();
    }
}
