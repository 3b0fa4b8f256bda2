package dev.loracle.oracle.it;

import dev.loracle.ipfs.Cid;
import dev.loracle.oracle.TestDatabases;
import dev.loracle.oracle.journal.InferenceSpec;
import dev.loracle.oracle.journal.JournalEntry;
import dev.loracle.oracle.journal.RequestState;
import dev.loracle.oracle.journal.TxJournal;
import dev.loracle.oracle.journal.TxRecord;
import dev.loracle.oracle.runtime.RuntimeService;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.web3j.protocol.core.DefaultBlockParameter;

import java.math.BigInteger;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** Interval mining (a block per second) with 2 confirmations for the request log and for the fulfil tx. */
class BlockTimeIT {
    @TempDir
    Path cacheDir;

    @Test
    void fulfilsAfterTwoConfirmationsEachWay() throws Exception {
        LocalStack stack = LocalStack.get();
        List<Cid> cids = stack.adapterCids().subList(0, 2);
        List<Integer> weights = List.of(6_000, 4_000);
        try (LocalStack.Chain chain = new LocalStack.Chain(1, stack); TestDatabases.Db db = TestDatabases.create(TestDatabases.Kind.H2)) {
            Map<String, Object> props = OracleNode.properties(stack, chain, db, cacheDir);
            props.put("loracle.chain.confirmations", "2");
            props.put("loracle.chain.tx-confirmations", "2");
            try (OracleNode node = OracleNode.start(props)) {
                BigInteger requestId = chain.tellStory(cids, weights, "Once upon a time", 16, 3);
                JournalEntry done = node.awaitState(InferenceSpec.chainId(requestId), Set.of(RequestState.UNLOADED, RequestState.FAILED), Duration.ofSeconds(60));
                assertThat(done.state()).as(String.valueOf(done.reason())).isEqualTo(RequestState.UNLOADED);
                assertThat(chain.storyTeller.stories(requestId).send().component5())
                        .isEqualTo(stack.generateDirectly(cids, weights, "Once upon a time", 16, 8_000, 9_000, 3));

                // the request was acted on only once the block after its block existed (2 confirmations) ...
                long requestBlock = done.chainOrigin().blockNumber();
                assertThat(done.timings().fetchStartedAt()).isGreaterThanOrEqualTo(blockTimeMillis(chain, requestBlock + 1));
                // ... and confirmed only once the block after the fulfil tx's block existed
                TxRecord tx = node.bean(TxJournal.class).forRequest(done.id()).getFirst();
                assertThat(tx.status()).isEqualTo(TxRecord.TxStatus.CONFIRMED);
                assertThat(done.timings().confirmedAt()).isGreaterThanOrEqualTo(blockTimeMillis(chain, tx.blockNumber() + 1));
                RuntimeService.Status runtime = node.bean(RuntimeService.class).status();
                assertThat(runtime.usedBytes()).isEqualTo(runtime.baseBytes());
            }
        }
    }

    /** Block timestamps are whole seconds, set when the block is sealed: the block exists no earlier than this. */
    private static long blockTimeMillis(LocalStack.Chain chain, long number) throws Exception {
        var block = chain.anvil.web3j().ethGetBlockByNumber(DefaultBlockParameter.valueOf(BigInteger.valueOf(number)), false).send().getBlock();
        return block.getTimestamp().longValueExact() * 1000;
    }
}
