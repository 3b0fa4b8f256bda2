package dev.loracle.oracle.session;

import dev.loracle.contracts.devchain.DevChainDeployer;
import dev.loracle.oracle.TestDatabases;
import dev.loracle.oracle.journal.AdapterSpec;
import dev.loracle.oracle.journal.ChainOrigin;
import dev.loracle.oracle.journal.InferenceSpec;
import dev.loracle.oracle.journal.PromptFormat;
import dev.loracle.oracle.journal.RequestJournal;
import dev.loracle.oracle.journal.RequestOrigin;
import dev.loracle.oracle.journal.SessionJournal;
import dev.loracle.oracle.journal.TransitionListener;
import dev.loracle.runtime.tokenizer.Tokenizer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.springframework.beans.factory.support.StaticListableBeanFactory;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.web3j.utils.Numeric;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The history of a session rebuilt from journaled chain data (H2 and the local PostgreSQL). */
class SessionHistoryTest {
    static final String SESSION = InferenceSpec.chainId(BigInteger.valueOf(777));
    static final byte[] CID = Numeric.hexStringToByteArray("0x01551220" + "ab".repeat(32));

    private TestDatabases.Db db;
    private RequestJournal requests;
    private SessionJournal sessions;
    private SessionHistory history;
    private final Tokenizer tokenizer = tokenizer();

    static Tokenizer tokenizer() {
        return Tokenizer.fromLlama2c(DevChainDeployer.modelsDir().resolve("llama2c/tok512.bin"), 512);
    }

    @AfterEach
    void drop() {
        if (db != null) db.close();
    }

    private void open(TestDatabases.Kind kind) {
        db = TestDatabases.create(kind);
        db.migrate();
        JdbcClient jdbc = JdbcClient.create(db.dataSource());
        requests = new RequestJournal(jdbc, Clock.systemUTC(), new StaticListableBeanFactory().getBeanProvider(TransitionListener.class));
        sessions = new SessionJournal(jdbc, Clock.systemUTC());
        history = new SessionHistory(sessions, requests, null, tokenizer, "Q8_0/UNMERGED/F32", new SimpleMeterRegistry());
    }

    private InferenceSpec turn(int index, String prompt, PromptFormat format) {
        String id = InferenceSpec.chainId(BigInteger.valueOf(1000 + index));
        InferenceSpec spec = new InferenceSpec(id, RequestOrigin.CHAIN, "0x" + "ab".repeat(20), "0x" + "11".repeat(32),
                List.of(new AdapterSpec(CID, 5_000)), prompt.getBytes(StandardCharsets.UTF_8), 16, 7_000, 9_000,
                BigInteger.valueOf(42), 200_000, 1_900_000_000L, BigInteger.ONE, "0x" + "cd".repeat(20), 1_800_000_000L, format);
        requests.record(spec, new ChainOrigin(10 + index, "0x" + "77".repeat(32), index, "0x" + "88".repeat(32)));
        sessions.recordRequested(SESSION, index, id, 10L + index);
        return spec;
    }

    private void fulfilled(InferenceSpec spec, int index, String output, byte[] cid) {
        sessions.recordFulfilled(SESSION, index, spec.id(), "0x" + "00".repeat(32), Numeric.toHexString(cid), "0x" + "99".repeat(32),
                20 + index);
        sessions.recordOutput(SESSION, index, Numeric.toHexString(output.getBytes(StandardCharsets.UTF_8)));
    }

    private SessionTurnRecord record(InferenceSpec spec) {
        return sessions.find(spec.id()).orElseThrow();
    }

    @ParameterizedTest
    @EnumSource(TestDatabases.Kind.class)
    void historyIsTheFulfilledTurnsPromptsAndOutputsEachEncodedOnItsOwn(TestDatabases.Kind kind) {
        open(kind);
        InferenceSpec t0 = turn(0, "Once upon a time", PromptFormat.RAW);
        InferenceSpec t1 = turn(1, "\nThe dog said:", PromptFormat.RAW);
        InferenceSpec t2 = turn(2, " Then it rained.", PromptFormat.RAW);
        InferenceSpec t3 = turn(3, "\nThe end?", PromptFormat.RAW);
        fulfilled(t0, 0, ", there was a cat.", CID);
        fulfilled(t1, 1, " \"Hello!\"", new byte[0]);
        assertThat(sessions.recordEnded(t2.id(), 22)).as("turn 2 failed on-chain").isPresent();

        SessionHistory.Outcome before3 = history.rebuild(record(t3), t3);
        assertThat(before3.ready()).isTrue();
        int[] expected = concat(tokenizer.encodePrompt("Once upon a time"), tokenizer.encodeContinuation(", there was a cat.", false),
                tokenizer.encodeContinuation("\nThe dog said:", true), tokenizer.encodeContinuation(" \"Hello!\"", false));
        assertThat(before3.history().historyTokens()).as("the failed turn 2 adds nothing").containsExactly(expected);
        assertThat(before3.history().promptTokens())
                .containsExactly(concat(expected, tokenizer.encodeContinuation("\nThe end?", true)));
        assertThat(before3.history().snapshotCids()).hasSize(3);
        assertThat(before3.history().snapshotCids().get(0)).startsWith("bafk");
        assertThat(before3.history().snapshotCids().subList(1, 3)).containsExactly("", "");
        assertThat(before3.history().parentCid()).as("the last fulfilled turn published none").isEmpty();

        SessionHistory.Outcome before1 = history.rebuild(record(t1), t1);
        assertThat(before3.history().historyTokens()).as("prefix-stable: later turns only append")
                .startsWith(before1.history().historyTokens());
        assertThat(before1.history().parentCid()).isEqualTo(before3.history().snapshotCids().get(0));
        assertThat(history.rebuild(record(t0), t0).history().promptTokens()).as("turn 0 is encoded as any prompt")
                .containsExactly(tokenizer.encodePrompt("Once upon a time"));
    }

    @ParameterizedTest
    @EnumSource(TestDatabases.Kind.class)
    void aTurnWaitsUntilEveryEarlierTurnHasEnded(TestDatabases.Kind kind) {
        open(kind);
        InferenceSpec t0 = turn(0, "Once upon a time", PromptFormat.RAW);
        InferenceSpec t1 = turn(1, " A.", PromptFormat.RAW);
        InferenceSpec t2 = turn(2, " B.", PromptFormat.RAW);

        SessionHistory.Outcome blocked = history.rebuild(record(t2), t2);
        assertThat(blocked.ready()).isFalse();
        assertThat(blocked.blocked().turnIndex()).isZero();
        assertThat(blocked.blocked().reason()).contains("has not ended");

        // the direct predecessor ended (cancelled), but turn 0 is still pending: still blocked
        sessions.recordEnded(t1.id(), 21);
        assertThat(history.rebuild(record(t2), t2).blocked().turnIndex()).isZero();

        fulfilled(t0, 0, " the end.", CID);
        assertThat(history.rebuild(record(t2), t2).ready()).isTrue();
        assertThat(sessions.recordEnded(t0.id(), 23)).as("a fulfilled turn does not end again").isEmpty();
    }

    @ParameterizedTest
    @EnumSource(TestDatabases.Kind.class)
    void anUnjournaledEarlierTurnBlocks(TestDatabases.Kind kind) {
        open(kind);
        InferenceSpec t1 = turn(1, " A.", PromptFormat.RAW);
        SessionHistory.Outcome o = history.rebuild(record(t1), t1);
        assertThat(o.ready()).isFalse();
        assertThat(o.blocked().reason()).contains("not journaled");
    }

    @ParameterizedTest
    @EnumSource(TestDatabases.Kind.class)
    void sessionEventsAreIdempotent(TestDatabases.Kind kind) {
        open(kind);
        InferenceSpec t0 = turn(0, "Once upon a time", PromptFormat.RAW);
        assertThat(sessions.recordRequested(SESSION, 0, t0.id())).as("duplicate SessionTurnRequested").isFalse();
        assertThat(sessions.recordFulfilled(SESSION, 0, t0.id(), "0x01", "0x", "0x02", 20)).isTrue();
        assertThat(sessions.recordFulfilled(SESSION, 0, t0.id(), "0x03", "0x", "0x04", 20)).as("duplicate SessionAdvanced").isFalse();
        assertThat(record(t0).head()).isEqualTo("0x01");
        assertThat(record(t0).status()).isEqualTo(SessionTurnStatus.FULFILLED);
    }

    @ParameterizedTest
    @EnumSource(TestDatabases.Kind.class)
    void aReorgForgetsTheEndingsAndRequestsInItsBlocks(TestDatabases.Kind kind) {
        open(kind);
        InferenceSpec t0 = turn(0, "Once upon a time", PromptFormat.RAW); // requested in block 10
        InferenceSpec t1 = turn(1, " A.", PromptFormat.RAW);              // requested in block 11
        fulfilled(t0, 0, " the end.", CID);                                // ended in block 20
        sessions.rewindFrom(11);
        assertThat(sessions.find(t1.id())).as("requested in a reorged block: read again from the logs").isEmpty();
        assertThat(record(t0).status()).as("its ending was in a reorged block").isEqualTo(SessionTurnStatus.REQUESTED);
        assertThat(record(t0).outputHex()).isNull();
        assertThat(sessions.recordFulfilled(SESSION, 0, t0.id(), "0x05", "0x", "0x06", 25)).as("re-ingested").isTrue();
        sessions.rewindFrom(30);
        assertThat(record(t0).status()).as("an ending below the fork stays").isEqualTo(SessionTurnStatus.FULFILLED);
    }

    static int[] concat(int[]... parts) {
        int[] out = new int[0];
        for (int[] p : parts) {
            int n = out.length;
            out = Arrays.copyOf(out, n + p.length);
            System.arraycopy(p, 0, out, n, p.length);
        }
        return out;
    }
}
