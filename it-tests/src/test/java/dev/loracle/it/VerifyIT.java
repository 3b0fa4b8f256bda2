package dev.loracle.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.contracts.NumericProfile;
import dev.loracle.contracts.ResultCommitment;
import dev.loracle.contracts.devchain.DevChainDeployer;
import dev.loracle.contracts.generated.InferenceCoordinator;
import dev.loracle.oracle.devstack.CoordinatorEvents;
import dev.loracle.oracle.devstack.OracleRestClient;
import dev.loracle.oracle.verify.VerifyCommand;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.web3j.crypto.Hash;
import org.web3j.protocol.core.methods.response.TransactionReceipt;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code loracle verify} against a live stack: a request the node fulfilled re-executes to MATCH (exit 0); a request
 * for a second model id (same weights and profile) that the node does not serve - it must leave it alone - is
 * fulfilled by hand with a fabricated output, which verify reports as MISMATCH at the first changed token (exit 1); an
 * unknown request cannot be checked (exit 2, with the reason).
 */
class VerifyIT {
    @Test
    void matchMismatchAndUnchecked() throws Exception {
        try (E2eStack stack = E2eStack.builder().start()) {
            E2eStack.Sent real = stack.request(5, stack.basic());
            CoordinatorEvents.Outcome outcome = stack.awaitOutcome(real.requestId(), Duration.ofSeconds(90));
            assertTrue(outcome.fulfilled(), () -> "request failed: " + outcome.reason());
            Result match = verify(stack, real.requestId());
            assertEquals(VerifyCommand.MATCH, match.code(), match.json().toString());
            assertEquals("MATCH", match.json().get("verdict").asString());
            String realOutput = match.json().get("onChainOutput").asString();

            // a second model id with the same weights and profile, which this node is not configured to serve
            byte[] otherModel = Hash.sha3("stories260K-other".getBytes(StandardCharsets.UTF_8));
            var owner = stack.coordinatorAs(E2eStack.OWNER);
            byte[] weights = DevChainDeployer.sha256(ItPaths.modelsDir().resolve(DevChainDeployer.DEFAULT_WEIGHTS_FILE));
            assertTrue(owner.registerModel(otherModel, weights, NumericProfile.DEV_DEFAULT.toString(), "test", BigInteger.ONE,
                    BigInteger.ONE, BigInteger.ONE, BigInteger.ONE, BigInteger.valueOf(256)).send().isStatusOK());
            E2eStack.Spec spec = stack.basic();
            var user = stack.coordinatorAs(6);
            BigInteger fee = owner.quoteFee(otherModel, BigInteger.valueOf(spec.adapters().size()),
                    BigInteger.valueOf(spec.maxTokens()), BigInteger.valueOf(spec.callbackGasLimit())).send();
            TransactionReceipt r = user.requestInference(otherModel, spec.adapters(), spec.prompt(), BigInteger.ZERO,
                    BigInteger.valueOf(spec.maxTokens()), BigInteger.valueOf(spec.temperature()), BigInteger.valueOf(spec.topP()),
                    BigInteger.valueOf(spec.seed()), BigInteger.valueOf(spec.callbackGasLimit()),
                    BigInteger.valueOf(stack.deadline(spec)), fee).send();
            var event = InferenceCoordinator.getInferenceRequestedEvents(r).getFirst();
            awaitJournalState(stack, event.requestId, "CANCELLED");
            String reason = OracleRestClient.field(stack.rest().request(event.requestId).orElseThrow(), "reason").asString();
            assertTrue(reason.contains("not served by this node"), reason);

            int cut = realOutput.length() / 2;
            byte[] fabricated = (realOutput.substring(0, cut) + " and then a dragon ate the moon.").getBytes(StandardCharsets.UTF_8);
            byte[] commitment = ResultCommitment.compute(event.requestId,
                    new ResultCommitment.ModelBinding(weights, NumericProfile.DEV_DEFAULT.toString()), event.request, fabricated);
            assertTrue(stack.coordinatorAs(E2eStack.ORACLE).fulfill(event.requestId, event.request, fabricated, commitment)
                    .send().isStatusOK(), "the coordinator accepts a fabricated output with a matching commitment");
            Result mismatch = verify(stack, event.requestId);
            assertEquals(VerifyCommand.MISMATCH, mismatch.code(), mismatch.json().toString());
            JsonNode first = mismatch.json().get("firstDifferingToken");
            assertTrue(first.get("index").asInt() > 0, "the common beginning matches: " + first);
            assertTrue(first.get("byteOffset").asInt() <= cut, "the difference is found where the output was changed: " + first);
            assertEquals(realOutput, mismatch.json().get("regeneratedOutput").asString());

            Result unknown = verify(stack, BigInteger.valueOf(12345));
            assertEquals(VerifyCommand.UNCHECKED, unknown.code());
            assertTrue(unknown.json().get("reason").asString().contains("no InferenceRequested event"), unknown.json().toString());
            E2eStack.log("verify figures: real -> " + match.json().get("verdict").asString() + " (" + match.json().get("tokens")
                    + " tokens); fabricated -> MISMATCH at token " + first.get("index") + "; unknown -> UNCHECKED");
        }
    }

    record Result(int code, JsonNode json) {}

    private static Result verify(E2eStack stack, BigInteger requestId) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = VerifyCommand.run(new String[] {requestId.toString(), "--rpc", stack.anvil.httpUrl(), "--coordinator",
                stack.deployment.coordinator(), "--ipfs", stack.settings.ipfsApiUrl(), "--models", ItPaths.modelsDir().toString(),
                "--json"}, new PrintStream(out, true, StandardCharsets.UTF_8), System.err);
        String text = out.toString(StandardCharsets.UTF_8).strip();
        E2eStack.log("verify " + E2eStack.hex(requestId) + " -> exit " + code + ": " + text);
        return new Result(code, JsonMapper.builder().build().readTree(text));
    }

    private static void awaitJournalState(E2eStack stack, BigInteger id, String state) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!stack.rest().state(id).map(state::equals).orElse(false)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("request " + E2eStack.hex(id) + " not " + state + ": " + stack.journalLine(id));
            }
            Thread.sleep(100);
        }
    }
}
