package dev.loracle.oracle.chain;

import dev.loracle.contracts.FailureCode;
import dev.loracle.contracts.NumericProfile;
import dev.loracle.contracts.ResultCommitment;
import dev.loracle.contracts.devchain.AnvilProcess;
import dev.loracle.contracts.devchain.Deployment;
import dev.loracle.contracts.devchain.DevAccounts;
import dev.loracle.contracts.devchain.DevChainDeployer;
import dev.loracle.contracts.devchain.TransactionManagers;
import dev.loracle.contracts.generated.InferenceCoordinator;
import dev.loracle.contracts.generated.StoryTeller;
import dev.loracle.oracle.TestDatabases;
import dev.loracle.oracle.config.OracleProperties;
import dev.loracle.oracle.journal.AdapterSpec;
import dev.loracle.oracle.journal.InferenceSpec;
import dev.loracle.oracle.journal.RequestOrigin;
import dev.loracle.oracle.journal.TxJournal;
import dev.loracle.oracle.journal.TxRecord;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.web3j.crypto.Credentials;
import org.web3j.crypto.Hash;
import org.web3j.protocol.core.DefaultBlockParameterName;
import org.web3j.protocol.core.DefaultBlockParameterNumber;
import org.web3j.protocol.core.methods.request.EthFilter;
import org.web3j.protocol.core.methods.response.EthLog;
import org.web3j.protocol.core.methods.response.Log;
import org.web3j.protocol.core.methods.response.TransactionReceipt;
import org.web3j.utils.Numeric;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The oracle's coordinator ABI against the deployed contract on a real Anvil: requests made through StoryTeller are
 * decoded from eth_getLogs, and fulfill / reportFailure calldata built from the decoded request is signed by the
 * oracle's own transaction manager and accepted by the contract, which re-checks the request against its commitment.
 */
class CoordinatorAbiIT {
    static final Credentials OWNER = DevAccounts.get(0);
    static final Credentials ORACLE = DevAccounts.get(1);
    static final Credentials USER = DevAccounts.get(2);
    static final byte[] WEIGHTS_HASH = Hash.sha3("stories260K weights".getBytes(StandardCharsets.UTF_8));
    /** CIDv1 dag-pb and CIDv0 (different lengths exercise the dynamic bytes padding). */
    static final byte[] CID_V1 = Numeric.hexStringToByteArray("0x01701220" + "ab".repeat(32));
    static final byte[] CID_V0 = Numeric.hexStringToByteArray("0x1220" + "cd".repeat(32));
    /** Near uint64 max: checks unsigned encoding of the seed. */
    static final BigInteger SEED = new BigInteger("18446744073709551557");

    AnvilProcess anvil;
    TestDatabases.Db db;
    RpcGateway rpc;
    Deployment deployment;
    StoryTeller storyTeller;
    InferenceCoordinator coordinatorAsUser;
    TransactionManager tx;
    CoordinatorClient client;
    final List<String> finals = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws Exception {
        anvil = AnvilProcess.start();
        db = TestDatabases.create(TestDatabases.Kind.H2);
        db.migrate();
        deployment = DevChainDeployer.deploy(anvil.web3j(), anvil.httpUrl(), anvil.wsUrl(), anvil.chainId(), OWNER,
                DevChainDeployer.Config.defaults(WEIGHTS_HASH, List.of(ORACLE.getAddress())));
        var userTx = TransactionManagers.fastPolling(anvil.web3j(), USER, anvil.chainId());
        storyTeller = StoryTeller.load(deployment.storyTeller(), anvil.web3j(), userTx, DevChainDeployer.DEV_GAS);
        coordinatorAsUser = InferenceCoordinator.load(deployment.coordinator(), anvil.web3j(), userTx, DevChainDeployer.DEV_GAS);

        OracleProperties.Chain chain = ChainTestKit.chain(List.of(anvil.httpUrl()), deployment.coordinator(), 0, 1);
        rpc = ChainTestKit.gateway(chain);
        OracleKey key = OracleKey.load(new OracleProperties.Key(ORACLE.getEcKeyPair().getPrivateKey().toString(16), "", ""));
        tx = new TransactionManager(rpc, key, deployment.coordinator(), new TxJournal(JdbcClient.create(db.dataSource()), Clock.systemUTC()),
                ChainTestKit.tx(Duration.ofSeconds(30)), 1, Clock.systemUTC(), new SimpleMeterRegistry());
        tx.addListener(new TxOutcomeListener() {
            @Override
            public void onFinal(TxRecord record, boolean success) {
                finals.add(record.requestId() + ":" + success);
            }

            @Override
            public void onSuperseded(TxRecord record) {
                finals.add(record.requestId() + ":superseded");
            }
        });
        client = new CoordinatorClient(tx);
    }

    @AfterEach
    void stop() {
        if (rpc != null) rpc.close();
        if (anvil != null) anvil.close();
        if (db != null) db.close();
    }

    @Test
    void decodesTheRequestedEventAndTheContractAcceptsTheFulfilCalldata() throws Exception {
        String prompt = "Once upon a time, a caf\u00e9 robot";
        BigInteger fee = requestStory(List.of(new StoryTeller.Adapter(CID_V1, BigInteger.valueOf(10_000)),
                new StoryTeller.Adapter(CID_V0, BigInteger.valueOf(-2_500))), prompt, 24);

        InferenceSpec spec = CoordinatorAbi.decodeInferenceRequested(requestedLogs().getFirst());
        assertThat(spec.origin()).isEqualTo(RequestOrigin.CHAIN);
        assertThat(spec.consumer()).isEqualTo(deployment.storyTeller().toLowerCase());
        assertThat(spec.modelId()).isEqualTo(deployment.modelId());
        assertThat(spec.adapters()).containsExactly(new AdapterSpec(CID_V1, 10_000), new AdapterSpec(CID_V0, -2_500));
        assertThat(spec.promptText()).isEqualTo(prompt);
        assertThat(spec.maxTokens()).isEqualTo(24);
        assertThat(spec.temperature()).isEqualTo(storyTeller.TEMPERATURE().send().longValueExact());
        assertThat(spec.topP()).isEqualTo(9_000);
        assertThat(spec.seed()).isEqualTo(SEED);
        assertThat(spec.callbackGasLimit()).isEqualTo(100_000 + 4_000 * 24);
        assertThat(spec.fee()).isEqualTo(fee);
        assertThat(spec.assignedOracle()).isEqualTo(ORACLE.getAddress().toLowerCase());
        assertThat(spec.deadline()).isGreaterThan(spec.exclusiveUntil()).isPositive();

        assertThat(client.isPending(spec.requestId())).isTrue();
        assertThat(client.isPending(spec.requestId().add(BigInteger.ONE))).isFalse();
        assertThat(client.model(spec.modelId()).weightsHash()).isEqualTo(WEIGHTS_HASH);
        assertThat(client.model(spec.modelId()).profile()).isEqualTo(NumericProfile.DEV_DEFAULT.toString());
        assertThat(client.model("0x" + "00".repeat(31) + "01")).isNull();

        // the commitment as the pipeline computes it, which the contract recomputes
        byte[] output = " found a shiny star.".getBytes(StandardCharsets.UTF_8);
        byte[] commitment = ResultCommitment.compute(spec.requestId(), Numeric.hexStringToByteArray(spec.modelId()),
                new ResultCommitment.ModelBinding(WEIGHTS_HASH, NumericProfile.DEV_DEFAULT.toString()),
                InferenceRequestConverter.toStructAdapters(spec.adapters()), spec.prompt(), spec.maxTokens(), spec.temperature(),
                spec.topP(), spec.seed(), output);

        // one field off and the contract's commitment check refuses the call (the estimate reverts, nothing is sent)
        InferenceSpec otherSeed = new InferenceSpec(spec.id(), spec.origin(), spec.consumer(), spec.modelId(), spec.adapters(),
                spec.prompt(), spec.maxTokens(), spec.temperature(), spec.topP(), spec.seed().subtract(BigInteger.ONE),
                spec.callbackGasLimit(), spec.deadline(), spec.fee(), spec.assignedOracle(), spec.exclusiveUntil());
        assertThatThrownBy(() -> client.fulfil(otherSeed, output, commitment)).isInstanceOf(RpcErrorException.class);

        TxRecord sent = client.fulfil(spec, output, commitment);
        TransactionReceipt receipt = awaitFinal(sent);
        var fulfilled = InferenceCoordinator.getInferenceFulfilledEvents(receipt).getFirst();
        assertThat(fulfilled.requestId).isEqualTo(spec.requestId());
        assertThat(fulfilled.oracle).isEqualToIgnoringCase(ORACLE.getAddress());
        assertThat(fulfilled.resultCommitment).isEqualTo(commitment);
        assertThat(fulfilled.outputHash).isEqualTo(Hash.sha3(output));
        assertThat(fulfilled.callbackSucceeded).isTrue();
        assertThat(storyTeller.stories(spec.requestId()).send().component5()).isEqualTo(new String(output, StandardCharsets.UTF_8));
        assertThat(client.isPending(spec.requestId())).isFalse();
    }

    @Test
    void isOracleReadsTheRegistry() {
        assertThat(client.isOracle(ORACLE.getAddress())).isTrue();
        assertThat(client.isOracle(USER.getAddress())).isFalse();
    }

    @Test
    void signedDigestsRecoverToTheOracleAddress() throws Exception {
        OracleKey key = OracleKey.load(new OracleProperties.Key(ORACLE.getEcKeyPair().getPrivateKey().toString(16), "", ""));
        byte[] digest = Hash.sha3("a snapshot".getBytes(StandardCharsets.UTF_8));
        byte[] sig = tx.signDigest(digest);
        assertThat(sig).hasSize(65).isEqualTo(key.signDigest(digest));
        var data = new org.web3j.crypto.Sign.SignatureData(sig[64], java.util.Arrays.copyOfRange(sig, 0, 32), java.util.Arrays.copyOfRange(sig, 32, 64));
        assertThat("0x" + org.web3j.crypto.Keys.getAddress(org.web3j.crypto.Sign.signedMessageHashToKey(digest, data)))
                .isEqualToIgnoringCase(ORACLE.getAddress());
    }

    @Test
    void theContractAcceptsTheFailureReportCalldata() throws Exception {
        requestStory(List.of(new StoryTeller.Adapter(CID_V0, BigInteger.valueOf(5_000))), "A dragon", 3);
        InferenceSpec spec = CoordinatorAbi.decodeInferenceRequested(requestedLogs().getFirst());
        String reason = "adapter fetch timed out (n\u00e4chster Versuch)";

        TransactionReceipt receipt = awaitFinal(client.reportFailure(spec, FailureCode.ADAPTER_NOT_FOUND.code(), reason));
        var failed = InferenceCoordinator.getInferenceFailedEvents(receipt).getFirst();
        assertThat(failed.requestId).isEqualTo(spec.requestId());
        assertThat(FailureCode.fromCode(failed.code.intValueExact())).isEqualTo(FailureCode.ADAPTER_NOT_FOUND);
        assertThat(failed.reason).isEqualTo(reason);
        assertThat(client.isPending(spec.requestId())).isFalse();
    }

    @Test
    void viewCallsAgainstAnAddressWithoutCodeFailClearly() {
        OracleProperties.Chain chain = ChainTestKit.chain(List.of(anvil.httpUrl()), USER.getAddress(), 0, 1);
        try (RpcGateway noContract = ChainTestKit.gateway(chain)) {
            OracleKey key = OracleKey.load(new OracleProperties.Key(ORACLE.getEcKeyPair().getPrivateKey().toString(16), "", ""));
            CoordinatorClient wrong = new CoordinatorClient(new TransactionManager(noContract, key, USER.getAddress(),
                    new TxJournal(JdbcClient.create(db.dataSource()), Clock.systemUTC()), ChainTestKit.tx(Duration.ofSeconds(30)), 1,
                    Clock.systemUTC(), new SimpleMeterRegistry()));
            assertThatThrownBy(() -> wrong.isPending(BigInteger.ONE))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("isPending() returned no data");
        }
    }

    /** StoryTeller.tellStory from the user; returns the fee paid. */
    private BigInteger requestStory(List<StoryTeller.Adapter> adapters, String prompt, int maxTokens) throws Exception {
        byte[] modelId = Numeric.hexStringToByteArray(deployment.modelId());
        BigInteger fee = storyTeller.quoteStory(modelId, BigInteger.valueOf(adapters.size()), BigInteger.valueOf(maxTokens)).send();
        TransactionReceipt r = storyTeller.tellStory(modelId, adapters, prompt, BigInteger.valueOf(maxTokens), SEED, fee).send();
        assertThat(r.isStatusOK()).as("tellStory succeeded").isTrue();
        return fee;
    }

    /** The coordinator's InferenceRequested logs, read with eth_getLogs and the oracle's topic as the ingestor does. */
    private List<Log> requestedLogs() {
        EthFilter filter = new EthFilter(new DefaultBlockParameterNumber(deployment.deployBlock()), DefaultBlockParameterName.LATEST,
                deployment.coordinator());
        filter.addSingleTopic(CoordinatorAbi.INFERENCE_REQUESTED_TOPIC);
        List<Log> logs = rpc.send("eth_getLogs", w -> w.ethGetLogs(filter)).getLogs().stream()
                .map(r -> (Log) ((EthLog.LogResult<?>) r).get()).toList();
        assertThat(logs).as("InferenceRequested logs found by the oracle's topic").hasSize(1);
        return logs;
    }

    private TransactionReceipt awaitFinal(TxRecord sent) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (finals.isEmpty() && System.nanoTime() < end) {
            tx.poll();
            Thread.sleep(50);
        }
        assertThat(finals).containsExactly(sent.requestId() + ":true");
        return tx.findReceipt(sent).orElseThrow();
    }
}
