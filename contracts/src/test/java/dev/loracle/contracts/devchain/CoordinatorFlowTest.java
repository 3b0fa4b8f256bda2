package dev.loracle.contracts.devchain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.contracts.FailureCode;
import dev.loracle.contracts.ResultCommitment;
import dev.loracle.contracts.generated.InferenceCoordinator;
import dev.loracle.contracts.generated.InferenceCoordinator.InferenceRequest;
import dev.loracle.contracts.generated.InferenceCoordinator.InferenceRequestedEventResponse;
import dev.loracle.contracts.generated.StoryTeller;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.web3j.abi.EventEncoder;
import org.web3j.crypto.Credentials;
import org.web3j.crypto.Hash;
import org.web3j.protocol.Web3j;
import org.web3j.protocol.core.DefaultBlockParameter;
import org.web3j.protocol.core.DefaultBlockParameterName;
import org.web3j.protocol.core.methods.request.EthFilter;
import org.web3j.protocol.core.methods.response.EthLog;
import org.web3j.protocol.core.methods.response.Log;
import org.web3j.protocol.core.methods.response.TransactionReceipt;
import org.web3j.tuples.generated.Tuple5;
import org.web3j.utils.Numeric;


/**
 * End to end on a real Anvil through the generated wrappers: deploy, register a model and two oracles, request a
 * story with two adapters, decode the InferenceRequested event from the chain's logs, fulfil it as the assigned
 * oracle and read the story back; then a failure report and its refund, and a deadline cancel and its refund. Runs with automine and with a 1 s block time.
 */
class CoordinatorFlowTest {
    private static final HexFormat HEX = HexFormat.of();
    private static final byte[] WEIGHTS_HASH =
            HEX.parseHex("b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696");
    /** CIDv0 form: sha2-256 multihash 0x1220 + 32-byte digest. */
    private static final byte[] CID_V0 = HEX.parseHex("1220" + "a".repeat(64));
    /** CIDv1 raw (0x01 0x55 0x1220 + digest). */
    private static final byte[] CID_V1 = HEX.parseHex("01551220" + "b7".repeat(32));

    @ParameterizedTest(name = "block time {0} s (0 = automine)")
    @ValueSource(ints = {0, 1})
    void requestFulfilAndFailureRoundTrip(int blockTime) throws Exception {
        AnvilProcess.Builder builder = AnvilProcess.builder();
        if (blockTime > 0) {
            builder.blockTime(blockTime);
        }
        try (AnvilProcess anvil = builder.start()) {
            Web3j web3j = anvil.web3j();
            Credentials owner = anvil.account(0);
            Credentials oracleA = anvil.account(1);
            Credentials oracleB = anvil.account(2);
            Credentials user = anvil.account(3);
            DevChainDeployer.Config config = DevChainDeployer.Config
                    .defaults(WEIGHTS_HASH, List.of(oracleA.getAddress(), oracleB.getAddress()));
            Deployment deployment = DevChainDeployer.deploy(web3j, anvil.httpUrl(), anvil.wsUrl(), anvil.chainId(),
                    owner, config);

            StoryTeller storyTellerAsUser = StoryTeller.load(deployment.storyTeller(), web3j,
                    TransactionManagers.fastPolling(web3j, user, anvil.chainId()), DevChainDeployer.DEV_GAS);
            InferenceCoordinator coordinator = InferenceCoordinator.load(deployment.coordinator(), web3j,
                    TransactionManagers.fastPolling(web3j, owner, anvil.chainId()), DevChainDeployer.DEV_GAS);
            assertEquals(BigInteger.TWO, coordinator.oracleCount().send());
            byte[] modelId = Hash.sha3("stories260K".getBytes(StandardCharsets.UTF_8));
            assertEquals(deployment.modelId(), "0x" + HEX.formatHex(modelId));

            // ---- request with two adapters (one CIDv0 with weight 1.0, one CIDv1 with weight -0.25)
            List<StoryTeller.Adapter> adapters = List.of(
                    new StoryTeller.Adapter(CID_V0, BigInteger.valueOf(10_000)),
                    new StoryTeller.Adapter(CID_V1, BigInteger.valueOf(-2_500)));
            BigInteger maxTokens = BigInteger.valueOf(64);
            BigInteger seed = new BigInteger("18446744073709551557"); // near uint64 max: checks unsigned decoding
            BigInteger fee = storyTellerAsUser.quoteStory(modelId, BigInteger.TWO, maxTokens).send();
            BigInteger callbackGas = BigInteger.valueOf(100_000 + 4_000 * 64);
            assertEquals(BigInteger.TEN.pow(15).add(BigInteger.TEN.pow(12).multiply(maxTokens))
                    .add(BigInteger.TEN.pow(14).multiply(BigInteger.TWO))
                    .add(config.callbackGasPrice().multiply(callbackGas)), fee);
            assertEquals(fee, coordinator.quoteFee(modelId, BigInteger.TWO, maxTokens, callbackGas).send());
            String prompt = "Once upon a time, a tiny robot";
            TransactionReceipt requestReceipt = storyTellerAsUser
                    .tellStory(modelId, adapters, prompt, maxTokens, seed, fee).send();
            assertTrue(requestReceipt.isStatusOK());
            long requestTimestamp = blockTimestamp(web3j, requestReceipt.getBlockNumber());

            // Decode from eth_getLogs, as the oracle does (not from the receipt).
            InferenceRequestedEventResponse event = requestedEvents(web3j, deployment.coordinator()).getFirst();
            InferenceRequest request = event.request;
            assertEquals(deployment.storyTeller().toLowerCase(), event.consumer.toLowerCase());
            assertArrayEquals(modelId, event.modelId);
            assertEquals(deployment.storyTeller().toLowerCase(), request.consumer.toLowerCase());
            assertArrayEquals(modelId, request.modelId);
            assertEquals(2, request.adapters.size());
            assertArrayEquals(CID_V0, request.adapters.get(0).cid);
            assertEquals(BigInteger.valueOf(10_000), request.adapters.get(0).weight);
            assertArrayEquals(CID_V1, request.adapters.get(1).cid);
            assertEquals(BigInteger.valueOf(-2_500), request.adapters.get(1).weight);
            assertEquals(prompt, new String(request.prompt, StandardCharsets.UTF_8));
            assertEquals(BigInteger.ZERO, request.promptFormat); // StoryTeller prompts are raw text
            assertEquals(maxTokens, request.maxTokens);
            assertEquals(BigInteger.valueOf(8_000), request.temperature);
            assertEquals(storyTellerAsUser.TEMPERATURE().send(), request.temperature);
            assertEquals(BigInteger.valueOf(9_000), request.topP);
            assertEquals(seed, request.seed);
            assertEquals(BigInteger.valueOf(100_000 + 4_000 * 64), request.callbackGasLimit);
            assertEquals(BigInteger.valueOf(requestTimestamp + config.storyTimeoutSeconds()), request.deadline);
            assertEquals(fee, request.fee);
            BigInteger requestId = event.requestId;
            // round-robin: the first request goes to the first oracle
            assertEquals(coordinator.oracleAt(BigInteger.ZERO).send().toLowerCase(), request.assignedOracle.toLowerCase());
            assertEquals(BigInteger.valueOf(requestTimestamp + 60), request.exclusiveUntil);
            assertTrue(coordinator.isPending(requestId).send());

            // ---- the Java commitment equals the contract's
            byte[] output = " named Bolt found a shiny star.".getBytes(StandardCharsets.UTF_8);
            byte[] commitment = ResultCommitment.compute(requestId,
                    new ResultCommitment.ModelBinding(WEIGHTS_HASH, config.profile().toString()), request, output);
            assertArrayEquals(coordinator.computeResultCommitment(requestId, request, output).send(), commitment);

            // ---- fulfil as the assigned oracle
            Credentials assigned = request.assignedOracle.equalsIgnoreCase(oracleA.getAddress()) ? oracleA : oracleB;
            InferenceCoordinator asOracle = InferenceCoordinator.load(deployment.coordinator(), web3j,
                    TransactionManagers.fastPolling(web3j, assigned, anvil.chainId()), DevChainDeployer.DEV_GAS);
            TransactionReceipt fulfilReceipt = asOracle.fulfill(requestId, request, output, commitment).send();
            assertTrue(fulfilReceipt.isStatusOK());
            var fulfilled = InferenceCoordinator.getInferenceFulfilledEvents(fulfilReceipt).getFirst();
            assertEquals(requestId, fulfilled.requestId);
            assertEquals(assigned.getAddress().toLowerCase(), fulfilled.oracle.toLowerCase());
            assertArrayEquals(Hash.sha3(output), fulfilled.outputHash);
            assertArrayEquals(commitment, fulfilled.resultCommitment);
            assertTrue(fulfilled.callbackSucceeded);
            assertFalse(coordinator.isPending(requestId).send());
            assertEquals(fee, coordinator.credits(assigned.getAddress()).send());

            Tuple5<String, BigInteger, BigInteger, String, String> story =
                    storyTellerAsUser.stories(requestId).send();
            assertEquals(user.getAddress().toLowerCase(), story.component1().toLowerCase());
            assertEquals(BigInteger.TWO, story.component2()); // Status.Told
            assertEquals(prompt, story.component4());
            assertEquals(new String(output, StandardCharsets.UTF_8), story.component5());
            var told = StoryTeller.getStoryToldEvents(fulfilReceipt).getFirst();
            assertEquals(requestId, told.requestId);
            assertEquals(new String(output, StandardCharsets.UTF_8), told.story);

            // ---- failure report and refund
            TransactionReceipt secondReceipt = storyTellerAsUser
                    .tellStory(modelId, adapters.subList(0, 1), "A dragon", BigInteger.ONE, BigInteger.ONE,
                            storyTellerAsUser.quoteStory(modelId, BigInteger.ONE, BigInteger.ONE).send())
                    .send();
            InferenceRequestedEventResponse second =
                    InferenceCoordinator.getInferenceRequestedEvents(secondReceipt).getFirst();
            assertNotEquals(requestId, second.requestId);
            Credentials secondOracle =
                    second.request.assignedOracle.equalsIgnoreCase(oracleA.getAddress()) ? oracleA : oracleB;
            InferenceCoordinator asSecondOracle = InferenceCoordinator.load(deployment.coordinator(), web3j,
                    TransactionManagers.fastPolling(web3j, secondOracle, anvil.chainId()), DevChainDeployer.DEV_GAS);
            TransactionReceipt failReceipt = asSecondOracle.reportFailure(second.requestId, second.request,
                    BigInteger.valueOf(FailureCode.ADAPTER_NOT_FOUND.code()), "adapter fetch timed out").send();
            assertTrue(failReceipt.isStatusOK());
            var failed = InferenceCoordinator.getInferenceFailedEvents(failReceipt).getFirst();
            assertEquals(second.requestId, failed.requestId);
            assertEquals(FailureCode.ADAPTER_NOT_FOUND, FailureCode.fromCode(failed.code.intValueExact()));
            assertEquals("adapter fetch timed out", failed.reason);
            assertTrue(failed.callbackSucceeded);
            BigInteger secondFee = second.request.fee;
            assertEquals(secondFee, coordinator.credits(deployment.storyTeller()).send());
            assertEquals(BigInteger.valueOf(3), storyTellerAsUser.stories(second.requestId).send().component2());

            BigInteger balanceBefore = balance(web3j, user.getAddress());
            TransactionReceipt refundReceipt = storyTellerAsUser.claimRefund(second.requestId).send();
            assertTrue(refundReceipt.isStatusOK());
            BigInteger gasCost = refundReceipt.getGasUsed().multiply(Numeric.decodeQuantity(
                    refundReceipt.getEffectiveGasPrice()));
            assertEquals(balanceBefore.subtract(gasCost).add(secondFee), balance(web3j, user.getAddress()));
            assertEquals(BigInteger.ZERO, coordinator.credits(deployment.storyTeller()).send());
            assertEquals(BigInteger.valueOf(5), storyTellerAsUser.stories(second.requestId).send().component2());

            // ---- nobody serves the third story: after its deadline the requester cancels and is refunded
            TransactionReceipt thirdReceipt = storyTellerAsUser
                    .tellStory(modelId, adapters, "A lost kite", BigInteger.TWO, BigInteger.TEN,
                            storyTellerAsUser.quoteStory(modelId, BigInteger.TWO, BigInteger.TWO).send())
                    .send();
            InferenceRequestedEventResponse third =
                    InferenceCoordinator.getInferenceRequestedEvents(thirdReceipt).getFirst();
            anvil.increaseTime(config.storyTimeoutSeconds() + 1);
            anvil.mine(1);
            TransactionReceipt cancelReceipt =
                    storyTellerAsUser.cancelStory(third.requestId, toStoryTeller(third.request)).send();
            assertTrue(cancelReceipt.isStatusOK());
            assertEquals(third.requestId,
                    InferenceCoordinator.getInferenceCancelledEvents(cancelReceipt).getFirst().requestId);
            assertFalse(coordinator.isPending(third.requestId).send());
            BigInteger beforeThirdRefund = balance(web3j, user.getAddress());
            TransactionReceipt thirdRefund = storyTellerAsUser.claimRefund(third.requestId).send();
            BigInteger thirdGas = thirdRefund.getGasUsed()
                    .multiply(Numeric.decodeQuantity(thirdRefund.getEffectiveGasPrice()));
            assertEquals(beforeThirdRefund.subtract(thirdGas).add(third.request.fee), balance(web3j, user.getAddress()));
        }
    }

    /** web3j gives each wrapper its own struct classes; StoryTeller.cancelStory takes its own copy. */
    private static StoryTeller.InferenceRequest toStoryTeller(InferenceRequest r) {
        List<StoryTeller.Adapter> adapters =
                r.adapters.stream().map(a -> new StoryTeller.Adapter(a.cid, a.weight)).toList();
        return new StoryTeller.InferenceRequest(r.consumer, r.modelId, adapters, r.prompt, r.promptFormat, r.maxTokens, r.temperature,
                r.topP, r.seed, r.callbackGasLimit, r.deadline, r.fee, r.assignedOracle, r.exclusiveUntil);
    }

    private static List<InferenceRequestedEventResponse> requestedEvents(Web3j web3j, String coordinator)
            throws Exception {
        EthFilter filter = new EthFilter(DefaultBlockParameter.valueOf(BigInteger.ZERO),
                DefaultBlockParameterName.LATEST, coordinator);
        filter.addSingleTopic(EventEncoder.encode(InferenceCoordinator.INFERENCEREQUESTED_EVENT));
        EthLog logs = web3j.ethGetLogs(filter).send();
        return logs.getLogs().stream()
                .map(result -> (Log) result.get())
                .map(InferenceCoordinator::getInferenceRequestedEventFromLog)
                .toList();
    }

    private static long blockTimestamp(Web3j web3j, BigInteger block) throws Exception {
        return web3j.ethGetBlockByNumber(DefaultBlockParameter.valueOf(block), false).send()
                .getBlock().getTimestamp().longValueExact();
    }

    private static BigInteger balance(Web3j web3j, String address) throws Exception {
        return web3j.ethGetBalance(address, DefaultBlockParameterName.LATEST).send().getBalance();
    }
}
