package dev.loracle.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.contracts.devchain.DevChainDeployer;
import dev.loracle.contracts.generated.StoryTeller;
import dev.loracle.oracle.devstack.CoordinatorEvents;
import dev.loracle.oracle.devstack.OracleRestClient;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.web3j.protocol.core.methods.response.TransactionReceipt;
import tools.jackson.databind.JsonNode;

/**
 * The happy path shared by the automine and block-time variants: a greedy request with both example adapters from a
 * recording consumer (its callback must hold exactly the text the runtime gives directly for the same inputs), a
 * StoryTeller story (the demo's path), the oracle paid, the journal at UNLOADED and memory back at its base.
 */
final class HappyPathScenario {
    private HappyPathScenario() {}

    static void run(E2eStack stack, String label, Duration timeout) throws Exception {
        long t0 = System.nanoTime();
        String oracle = E2eStack.account(E2eStack.ORACLE).getAddress();
        BigInteger creditsBefore = stack.credits(oracle);
        long baseUsed = usedBytes(stack.rest().runtime());

        TestConsumer recorder = TestConsumer.deploy(stack, "RecordingConsumer", 3);
        E2eStack.Spec spec = stack.basic();
        E2eStack.Sent greedy = recorder.request(spec);

        StoryTeller storyTeller = StoryTeller.load(stack.deployment.storyTeller(), stack.web3j(), stack.sender(4),
                DevChainDeployer.DEV_GAS);
        List<StoryTeller.Adapter> styles = stack.adapters.stream()
                .map(a -> new StoryTeller.Adapter(a.cidBytes(), BigInteger.valueOf(a.weight()))).toList();
        BigInteger storyFee = storyTeller.quoteStory(stack.modelId, BigInteger.TWO, BigInteger.valueOf(48)).send();
        TransactionReceipt storyReceipt = storyTeller.tellStory(stack.modelId, styles, "Once upon a time",
                BigInteger.valueOf(48), BigInteger.valueOf(42), storyFee).send();
        BigInteger storyId = StoryTeller.getStoryRequestedEvents(storyReceipt).getFirst().requestId;

        CoordinatorEvents.Outcome greedyOutcome = stack.awaitOutcome(greedy.requestId(), timeout);
        CoordinatorEvents.Outcome storyOutcome = stack.awaitOutcome(storyId, timeout);
        long endToEndMs = (System.nanoTime() - t0) / 1_000_000;

        assertTrue(greedyOutcome.fulfilled(), () -> "greedy request failed: code " + greedyOutcome.failureCode()
                + " " + greedyOutcome.reason());
        assertTrue(greedyOutcome.callbackSucceeded(), "RecordingConsumer's callback must succeed");
        String onChain = new String(recorderOutput(recorder), StandardCharsets.UTF_8);
        String direct = DirectRuntime.greedy(stack.adapters, "Once upon a time", spec.maxTokens());
        assertEquals(direct, onChain, "greedy output on-chain must equal the runtime's own output for the same inputs");
        assertEquals(BigInteger.ONE, recorder.uint("results"));

        assertTrue(storyOutcome.fulfilled(), () -> "story failed: code " + storyOutcome.failureCode() + " "
                + storyOutcome.reason());
        var story = storyTeller.stories(storyId).send();
        assertEquals(BigInteger.TWO, story.component2(), "StoryTeller status must be Told");
        assertFalse(story.component5().isBlank(), "the story must not be empty");

        BigInteger paid = stack.credits(oracle).subtract(creditsBefore);
        assertEquals(greedy.fee().add(storyFee), paid, "the oracle is credited exactly both fees");

        // After confirmation the adapters are unloaded and memory returns to the base figure.
        String finalState = awaitState(stack.rest(), greedy.requestId(), "UNLOADED", Duration.ofSeconds(30));
        String storyState = awaitState(stack.rest(), storyId, "UNLOADED", Duration.ofSeconds(30));
        assertEquals("UNLOADED", finalState, "journal state of the greedy request");
        assertEquals("UNLOADED", storyState, "journal state of the story");
        long afterUsed = usedBytes(stack.rest().runtime());
        assertTrue(baseUsed > 0, "GET /api/runtime must report the memory in use");
        assertEquals(baseUsed, afterUsed, "runtime memory must return to its base after unload");

        E2eStack.log(String.format("%s: 2 requests fulfilled once each (greedy output %d chars == direct runtime), "
                        + "story %d chars, oracle paid %s wei, memory base %d B -> after %d B, %d ms end to end",
                label, onChain.length(), story.component5().length(), paid, baseUsed, afterUsed, endToEndMs));
        E2eStack.log(label + " story: Once upon a time" + story.component5().replace('\n', ' '));
    }

    static byte[] recorderOutput(TestConsumer recorder) throws Exception {
        return (byte[]) ChainCalls.call(recorder.stack().web3j(), recorder.address, "lastOutput",
                List.of(new org.web3j.abi.TypeReference<org.web3j.abi.datatypes.DynamicBytes>() { })).getFirst()
                .getValue();
    }

    static String awaitState(OracleRestClient rest, BigInteger id, String wanted, Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        String state = "(none)";
        while (System.nanoTime() < deadline) {
            Optional<String> s = rest.state(id);
            if (s.isPresent()) {
                state = s.get();
                if (state.equals(wanted)) {
                    return state;
                }
            }
            Thread.sleep(100);
        }
        return state;
    }

    static long usedBytes(JsonNode runtime) {
        return OracleRestClient.usedBytes(runtime);
    }
}
