package dev.loracle.oracle.it;

import dev.loracle.contracts.NumericProfile;
import dev.loracle.contracts.ResultCommitment;
import dev.loracle.contracts.SessionHead;
import dev.loracle.contracts.devchain.DevChainDeployer;
import dev.loracle.contracts.devchain.TransactionManagers;
import dev.loracle.contracts.generated.InferenceCoordinator;
import dev.loracle.oracle.TestDatabases;
import dev.loracle.oracle.journal.InferenceSpec;
import dev.loracle.oracle.journal.RequestState;
import dev.loracle.oracle.session.CanonicalHistory;
import dev.loracle.oracle.verify.VerifyCommand;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.web3j.crypto.Hash;
import org.web3j.protocol.core.methods.response.TransactionReceipt;
import org.web3j.tx.gas.StaticGasProvider;
import org.web3j.utils.Numeric;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code loracle verify} on session turns: the last turn of a conversation a live node served (with a failed CHAT turn
 * in it, which adds nothing to the history) re-executes after the history rebuilt from the chain to MATCH, output and
 * head; turns of a second session (a model id the node does not serve, same weights and profile) fulfilled by hand, one
 * with the true output but a wrong head and one with a fabricated output, are each a MISMATCH (exit 1).
 */
class SessionVerifyIT {
    private static final Set<RequestState> ENDED = Set.of(RequestState.UNLOADED, RequestState.FAILED, RequestState.CANCELLED,
            RequestState.EXPIRED);
    private static final String PROFILE = NumericProfile.DEV_DEFAULT.toString();

    @TempDir
    Path cacheDir;

    @Test
    void aServedTurnMatchesAndAFabricatedOutputOrHeadDoesNot() throws Exception {
        LocalStack stack = LocalStack.get();
        List<InferenceCoordinator.Adapter> adapters = List.of(new InferenceCoordinator.Adapter(stack.adapterCids().get(0).toBytes(),
                BigInteger.valueOf(5_000)));
        Tokenizer tok;
        try (InferenceEngine engine = stack.openEngine()) {
            tok = engine.tokenizer();
        }
        String p0 = "Once upon a time", chat = "[{\"role\":\"user\",\"content\":\"Hi\"}]", p2 = "\nTom said:", p3 = " The sun came out.";
        try (LocalStack.Chain chain = new LocalStack.Chain(null, stack);
             TestDatabases.Db db = TestDatabases.create(TestDatabases.Kind.H2);
             OracleNode node = OracleNode.start(OracleNode.properties(stack, chain, db, cacheDir))) {
            BigInteger sessionId = openSession(chain.coordinator, chain.modelId(), adapters);
            List<String> ids = new ArrayList<>();
            ids.add(id(turn(chain, chain.coordinator, chain.modelId(), sessionId, adapters, p0, 0)));
            ids.add(id(turn(chain, chain.coordinator, chain.modelId(), sessionId, adapters, chat, 1))); // fails: adds nothing
            ids.add(id(turn(chain, chain.coordinator, chain.modelId(), sessionId, adapters, p2, 0)));
            ids.add(id(turn(chain, chain.coordinator, chain.modelId(), sessionId, adapters, p3, 0)));
            List<RequestState> states = new ArrayList<>();
            for (String id : ids) states.add(node.awaitState(id, ENDED, Duration.ofSeconds(120)).state());
            assertThat(states).containsExactly(RequestState.UNLOADED, RequestState.FAILED, RequestState.UNLOADED, RequestState.UNLOADED);

            Result last = verify(stack, chain, ids.get(3));
            assertThat(last.code()).as(last.json().toString()).isEqualTo(VerifyCommand.MATCH);
            JsonNode session = last.json().get("session");
            assertThat(session.get("turn").asInt()).isEqualTo(3);
            assertThat(session.get("headMatches").asBoolean()).isTrue();
            assertThat(session.get("recordedHead").asString())
                    .isEqualTo(Numeric.toHexString(chain.coordinator.sessionHeads(sessionId).send()));
            Result first = verify(stack, chain, ids.get(0));
            assertThat(first.code()).as(first.json().toString()).isEqualTo(VerifyCommand.MATCH);
            assertThat(first.json().get("session").get("historyTokens").asInt()).isZero();
            assertThat(session.get("historyTokens").asInt()).as("turns 0 and 2 before turn 3")
                    .isGreaterThan(tok.encodePrompt(p0).length);
            String o0 = first.json().get("onChainOutput").asString();
            Result third = verify(stack, chain, ids.get(2));
            assertThat(third.code()).as(third.json().toString()).isEqualTo(VerifyCommand.MATCH);
            String o2 = third.json().get("onChainOutput").asString();

            // a second model id with the same weights and profile, which the node leaves alone; its turns are fulfilled by hand
            byte[] otherModel = Hash.sha3("stories260K-other".getBytes(StandardCharsets.UTF_8));
            var gas = new StaticGasProvider(BigInteger.valueOf(2_000_000_000L), BigInteger.valueOf(12_000_000));
            var owner = InferenceCoordinator.load(chain.deployment.coordinator(), chain.anvil.web3j(),
                    TransactionManagers.fastPolling(chain.anvil.web3j(), LocalStack.OWNER, chain.anvil.chainId()), gas);
            var oracle = InferenceCoordinator.load(chain.deployment.coordinator(), chain.anvil.web3j(),
                    TransactionManagers.fastPolling(chain.anvil.web3j(), LocalStack.ORACLE, chain.anvil.chainId()), gas);
            byte[] weights = DevChainDeployer.sha256(stack.model);
            assertThat(owner.registerModel(otherModel, weights, PROFILE, "test", BigInteger.ONE, BigInteger.ONE, BigInteger.ONE,
                    BigInteger.ONE, BigInteger.valueOf(256)).send().isStatusOK()).isTrue();
            BigInteger other = openSession(chain.coordinator, otherModel, adapters);
            var f0 = turn(chain, chain.coordinator, otherModel, other, adapters, p0, 0);
            var f1 = turn(chain, chain.coordinator, otherModel, other, adapters, p2, 0);
            for (var sent : List.of(f0, f1)) {
                assertThat(node.awaitState(id(sent), ENDED, Duration.ofSeconds(30)).state()).as("left alone").isEqualTo(RequestState.CANCELLED);
            }
            // turn 0 with its true output (that of the served session's turn 0) but a head over nothing it generated
            fulfil(oracle, weights, f0, o0.getBytes(StandardCharsets.UTF_8), Hash.sha3("not the head".getBytes(StandardCharsets.UTF_8)));
            Result wrongHead = verify(stack, chain, id(f0));
            assertThat(wrongHead.code()).as(wrongHead.json().toString()).isEqualTo(VerifyCommand.MISMATCH);
            assertThat(wrongHead.json().get("session").get("headMatches").asBoolean()).isFalse();
            assertThat(wrongHead.json().has("firstDifferingToken")).as("the output itself matches").isFalse();

            // turn 1 continues the same history as the served turn 2: a fabricated output with the head that goes with it
            int cut = o2.length() / 2;
            String fabricated = o2.substring(0, cut) + "~ and then a dragon ate the moon.";
            int[] history = CanonicalHistory.of(tok, List.of(new CanonicalHistory.EndedTurn(p0, o0.getBytes(StandardCharsets.UTF_8))));
            int[] after = CanonicalHistory.withOutput(tok, CanonicalHistory.withPrompt(tok, history, p2), fabricated);
            fulfil(oracle, weights, f1, fabricated.getBytes(StandardCharsets.UTF_8), SessionHead.compute(PROFILE, adapters, after));
            Result wrongOutput = verify(stack, chain, id(f1));
            assertThat(wrongOutput.code()).as(wrongOutput.json().toString()).isEqualTo(VerifyCommand.MISMATCH);
            assertThat(wrongOutput.json().get("regeneratedOutput").asString()).as("re-executed after the rebuilt history").isEqualTo(o2);
            assertThat(wrongOutput.json().get("session").get("headMatches").asBoolean()).as("head of the fabricated output").isTrue();
            JsonNode differs = wrongOutput.json().get("firstDifferingToken");
            assertThat(differs.get("index").asInt()).as("the common beginning matches: %s", differs).isPositive();
            assertThat(differs.get("byteOffset").asInt()).as("found where the output was changed: %s", differs).isLessThanOrEqualTo(cut);
        }
    }

    record Result(int code, JsonNode json) {
    }

    private static Result verify(LocalStack stack, LocalStack.Chain chain, String id) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = VerifyCommand.run(new String[] {id, "--rpc", chain.anvil.httpUrl(), "--coordinator", chain.deployment.coordinator(),
                "--ipfs", stack.ipfs.apiUrl().toString(), "--models", stack.modelsDir.toString(), "--json"},
                new PrintStream(out, true, StandardCharsets.UTF_8), System.err);
        String text = out.toString(StandardCharsets.UTF_8).strip();
        System.out.println("[it] verify " + id + " -> exit " + code + ": " + text);
        return new Result(code, JsonMapper.builder().build().readTree(text));
    }

    private static BigInteger openSession(InferenceCoordinator consumer, byte[] modelId, List<InferenceCoordinator.Adapter> adapters)
            throws Exception {
        TransactionReceipt opened = consumer.openSession(modelId, adapters, BigInteger.valueOf(7_000), BigInteger.valueOf(9_000),
                BigInteger.valueOf(42)).send();
        return InferenceCoordinator.getSessionOpenedEvents(opened).getFirst().sessionId;
    }

    private static InferenceCoordinator.InferenceRequestedEventResponse turn(LocalStack.Chain chain, InferenceCoordinator consumer, byte[] modelId, BigInteger sessionId,
                               List<InferenceCoordinator.Adapter> adapters, String prompt, int format) throws Exception {
        BigInteger cbGas = BigInteger.valueOf(100_000), maxTokens = BigInteger.valueOf(16);
        BigInteger fee = consumer.quoteFee(modelId, BigInteger.valueOf(adapters.size()), maxTokens, cbGas).send();
        TransactionReceipt r = consumer.requestTurn(sessionId, adapters, prompt.getBytes(StandardCharsets.UTF_8), BigInteger.valueOf(format),
                maxTokens, cbGas, BigInteger.valueOf(System.currentTimeMillis() / 1000 + 600), fee).send();
        assertThat(r.isStatusOK()).as("requestTurn: %s", r.getRevertReason()).isTrue();
        return InferenceCoordinator.getInferenceRequestedEvents(r).getFirst();
    }

    private static String id(InferenceCoordinator.InferenceRequestedEventResponse sent) {
        return InferenceSpec.chainId(sent.requestId);
    }

    /** fulfillTurn sent by hand from the oracle's account, with a commitment that matches what it sends. */
    private static void fulfil(InferenceCoordinator oracle, byte[] weights, InferenceCoordinator.InferenceRequestedEventResponse sent,
                               byte[] output, byte[] head) throws Exception {
        byte[] commitment = ResultCommitment.compute(sent.requestId, new ResultCommitment.ModelBinding(weights, PROFILE), sent.request, output);
        TransactionReceipt r = oracle.fulfillTurn(sent.requestId, sent.request, output, commitment, head, new byte[0]).send();
        assertThat(r.isStatusOK()).as("fulfillTurn by hand: %s", r.getRevertReason()).isTrue();
    }
}
