package dev.loracle.oracle.chain;

import dev.loracle.contracts.devchain.AnvilProcess;
import dev.loracle.contracts.devchain.DevAccounts;
import dev.loracle.oracle.TestDatabases;
import dev.loracle.oracle.config.OracleProperties;
import dev.loracle.oracle.journal.TxJournal;
import dev.loracle.oracle.journal.TxRecord;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.web3j.crypto.Credentials;
import org.web3j.crypto.RawTransaction;
import org.web3j.crypto.TransactionEncoder;
import org.web3j.utils.Numeric;

import java.math.BigInteger;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The oracle's transaction manager against a real Anvil: nonces, fee bumps, dropped transactions, an unreachable RPC. */
class TransactionManagerIT {
    static final Credentials ORACLE = DevAccounts.get(5);
    static final String TARGET = DevAccounts.get(6).getAddress();

    AnvilProcess anvil;
    TestDatabases.Db db;
    TxJournal txs;
    RpcGateway rpc;
    final List<String> finals = new ArrayList<>();
    final SimpleMeterRegistry rpcMeters = new SimpleMeterRegistry();

    TransactionManager manager(int confirmations, Duration stuckAfter) {
        OracleProperties.Chain chain = ChainTestKit.chain(List.of(anvil.httpUrl()), TARGET, 0, confirmations);
        rpc = ChainTestKit.gateway(chain, rpcMeters);
        OracleKey key = OracleKey.load(new OracleProperties.Key(ORACLE.getEcKeyPair().getPrivateKey().toString(16), "", ""));
        TransactionManager m = new TransactionManager(rpc, key, TARGET, txs, ChainTestKit.tx(stuckAfter), confirmations,
                Clock.systemUTC(), new SimpleMeterRegistry());
        m.addListener(new TxOutcomeListener() {
            @Override
            public void onFinal(TxRecord tx, boolean success) {
                finals.add(tx.requestId() + ":" + success);
            }

            @Override
            public void onSuperseded(TxRecord tx) {
                finals.add(tx.requestId() + ":superseded");
            }
        });
        return m;
    }

    @BeforeEach
    void start() {
        anvil = AnvilProcess.start();
        db = TestDatabases.create(TestDatabases.Kind.H2);
        db.migrate();
        txs = new TxJournal(JdbcClient.create(db.dataSource()), Clock.systemUTC());
    }

    @AfterEach
    void stop() {
        if (rpc != null) rpc.close();
        anvil.close();
        db.close();
    }

    private void pollUntil(TransactionManager m, java.util.function.BooleanSupplier done) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!done.getAsBoolean() && System.nanoTime() < end) {
            m.poll();
            Thread.sleep(50);
        }
        assertThat(done.getAsBoolean()).as("condition reached while polling").isTrue();
    }

    @Test
    void recoversFromNonceTooLowWhenTheKeyIsUsedElsewhere() throws Exception {
        TransactionManager m = manager(1, Duration.ofSeconds(30));
        TxRecord first = m.send("r1", TxRecord.TxKind.FULFIL, "0x01");
        assertThat(first.nonce()).isZero();
        // another process signs with the same key and takes nonce 1 behind our back
        RawTransaction other = RawTransaction.createTransaction(anvil.chainId(), BigInteger.ONE, BigInteger.valueOf(30_000), TARGET,
                BigInteger.ZERO, "0x", BigInteger.ONE, BigInteger.valueOf(10_000_000_000L));
        anvil.web3j().ethSendRawTransaction(Numeric.toHexString(TransactionEncoder.signMessage(other, ORACLE))).send();

        TxRecord second = m.send("r2", TxRecord.TxKind.FULFIL, "0x02");
        assertThat(second.nonce()).as("re-synced past the foreign nonce").isEqualTo(2);
        assertThat(second.hashes()).hasSize(2); // signed for nonce 1 first, then re-signed for nonce 2
        pollUntil(m, () -> finals.size() == 2);
        assertThat(finals).containsExactlyInAnyOrder("r1:true", "r2:true");
        assertThat(txs.get(second.id()).status()).isEqualTo(TxRecord.TxStatus.CONFIRMED);
    }

    @Test
    void followsEveryOpenTransactionWithBatchedRoundTrips() throws Exception {
        TransactionManager m = manager(1, Duration.ofSeconds(30));
        anvil.setAutomine(false);
        List<TxRecord> sent = new ArrayList<>();
        for (int i = 0; i < 130; i++) sent.add(m.send("r" + i, TxRecord.TxKind.FULFIL, "0x" + String.format("%04x", i)));
        assertThat(sent).extracting(TxRecord::nonce).containsExactlyElementsOf(java.util.stream.LongStream.range(0, 130).boxed().toList());

        m.poll(); // nothing mined yet: whether the node still knows each tx is asked in batches too
        assertThat(rpcMeters.counter("loracle.rpc.requests", "method", "eth_getTransactionByHash[batch]").count())
                .as("130 pending txs looked up in batches of %d", RpcGateway.BATCH_SIZE).isEqualTo(2);
        assertThat(rpcMeters.counter("loracle.rpc.requests", "method", "eth_getTransactionByHash").count()).isZero();
        assertThat(sent).allSatisfy(tx -> assertThat(txs.get(tx.id()).hashes()).as("known, so not re-broadcast").hasSize(1));
        anvil.mine(1);

        m.poll();

        assertThat(finals).as("every tx confirmed by one poll").hasSize(130).allMatch(f -> f.endsWith(":true"));
        assertThat(rpcMeters.counter("loracle.rpc.requests", "method", "eth_getTransactionReceipt[batch]").count())
                .as("130 receipts asked in batches of %d, twice", RpcGateway.BATCH_SIZE).isEqualTo(4);
        assertThat(rpcMeters.counter("loracle.rpc.requests", "method", "eth_getTransactionReceipt").count()).isZero();
        assertThat(rpcMeters.counter("loracle.rpc.requests", "method", "eth_getTransactionByHash[batch]").count())
                .as("nothing unmined to look up").isEqualTo(2);
    }

    @Test
    void bumpsTheFeeOfAStuckTransactionAndTracksTheReplacement() throws Exception {
        TransactionManager m = manager(1, Duration.ofMillis(200));
        anvil.setAutomine(false);
        TxRecord sent = m.send("stuck", TxRecord.TxKind.FULFIL, "0xabcdef");
        Thread.sleep(300);
        m.poll();
        TxRecord bumped = txs.get(sent.id());
        assertThat(bumped.hashes()).hasSize(2);
        assertThat(bumped.maxFee()).isGreaterThan(sent.maxFee());
        assertThat(bumped.priorityFee()).isGreaterThan(sent.priorityFee());
        assertThat(bumped.nonce()).isEqualTo(sent.nonce());
        anvil.mine(1);
        pollUntil(m, () -> !finals.isEmpty());
        TxRecord mined = txs.get(sent.id());
        assertThat(mined.status()).isEqualTo(TxRecord.TxStatus.CONFIRMED);
        assertThat(mined.txHash()).isEqualTo(bumped.txHash());
        assertThat(finals).containsExactly("stuck:true");
    }

    @Test
    void resendsATransactionDroppedByAReorgAndConfirmsItOnce() throws Exception {
        TransactionManager m = manager(3, Duration.ofSeconds(30));
        TxRecord sent = m.send("reorged", TxRecord.TxKind.FULFIL, "0x1234");
        pollUntil(m, () -> txs.get(sent.id()).status() == TxRecord.TxStatus.MINED);
        long minedIn = txs.get(sent.id()).blockNumber();
        anvil.reorg(1); // the tx's block is replaced by an empty one: the tx is gone, the nonce is free again
        assertThat(anvil.web3j().ethGetTransactionReceipt(sent.txHash()).send().getTransactionReceipt()).isEmpty();

        pollUntil(m, () -> txs.get(sent.id()).status() == TxRecord.TxStatus.MINED && txs.get(sent.id()).blockNumber() > minedIn);
        assertThat(finals).as("not final before 3 confirmations").isEmpty();
        anvil.mine(2);
        pollUntil(m, () -> !finals.isEmpty());
        assertThat(finals).containsExactly("reorged:true");
    }

    @Test
    void failsOverToTheNextRpcUrlAndReportsWhenNoneAnswers() {
        OracleProperties.Chain both = ChainTestKit.chain(List.of("http://127.0.0.1:1", anvil.httpUrl()), TARGET, 0, 0);
        try (RpcGateway g = ChainTestKit.gateway(both)) {
            assertThat(g.send("eth_blockNumber", w -> w.ethBlockNumber()).getBlockNumber()).isNotNull();
            assertThat(g.preferredEndpoint().url()).isEqualTo(anvil.httpUrl());
            assertThat(g.lastError()).contains("127.0.0.1:1");
        }
        OracleProperties.Chain none = ChainTestKit.chain(List.of("http://127.0.0.1:1"), TARGET, 0, 0);
        try (RpcGateway g = ChainTestKit.gateway(none)) {
            assertThatThrownBy(() -> g.send("eth_blockNumber", w -> w.ethBlockNumber()))
                    .isInstanceOf(RpcUnavailableException.class).hasMessageContaining("no RPC endpoint answered eth_blockNumber");
        }
    }
}
