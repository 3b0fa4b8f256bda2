package dev.loracle.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.oracle.devstack.CoordinatorEvents;
import java.math.BigInteger;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Reorgs with {@code anvil_reorg} (which sends no {@code removed} logs) against a node that waits for 2
 * confirmations on requests and on fulfilments. Blocks are mined by the test (automine for transactions plus
 * {@code anvil_mine}), so the test decides exactly which block a reorg drops.
 * <ol>
 *   <li>The block that carried a fulfilment is reorged away: the request is pending again on the canonical chain, and
 *       the node must notice its dropped transaction and fulfil once more, ending with exactly one event.</li>
 *   <li>The block that carried a request is reorged away before it was confirmed: the request no longer exists. The
 *       same consumer then sends a different request, which gets the SAME requestId (the coordinator's nonce was
 *       reorged back too); the node must serve the new content, exactly once.</li>
 * </ol>
 */
@Tag("fault")
class ReorgIT {
    @Test
    void fulfilmentAndRequestBlocksReorgedAway() throws Exception {
        try (E2eStack stack = E2eStack.builder().confirmations(2, 2).start()) {
            // 1. a fulfilment reorged away
            E2eStack.Sent a = stack.request(5, stack.basic().withSeed(1));
            CoordinatorEvents.Outcome first = awaitWithMining(stack, a.requestId(), Duration.ofSeconds(60));
            long head = stack.anvil.blockNumber().longValueExact();
            int depth1 = (int) (head - first.blockNumber() + 1);
            assertTrue(first.blockNumber() > a.block(), "fulfilment must be in a later block than the request");
            stack.anvil.reorg(depth1);
            assertTrue(stack.coordinatorAs(0).isPending(a.requestId()).send(),
                    "after the reorg the request is pending again on the canonical chain");
            assertTrue(stack.events.outcomes(a.requestId()).isEmpty(), "the reorged fulfilment is gone");
            E2eStack.log("reorg 1: depth " + depth1 + " dropped the fulfilment of " + E2eStack.hex(a.requestId())
                    + " (block " + first.blockNumber() + ")");
            CoordinatorEvents.Outcome again = awaitWithMining(stack, a.requestId(), Duration.ofSeconds(90));
            mine(stack, 4);
            List<CoordinatorEvents.Outcome> aOutcomes = stack.events.outcomes(a.requestId());
            assertEquals(1, aOutcomes.size(), "exactly one outcome for the re-fulfilled request: " + aOutcomes);
            assertTrue(again.fulfilled());
            assertFalse(stack.coordinatorAs(0).isPending(a.requestId()).send());

            // 2. a request reorged away before confirmation, then a different request with the same id
            E2eStack.Sent b = stack.request(6, stack.basic().withPrompt("Once upon a time").withSeed(2));
            long headB = stack.anvil.blockNumber().longValueExact();
            int depth2 = (int) (headB - b.block() + 1);
            stack.anvil.reorg(depth2);
            assertFalse(stack.coordinatorAs(0).isPending(b.requestId()).send(), "request B no longer exists");
            E2eStack.log("reorg 2: depth " + depth2 + " dropped request " + E2eStack.hex(b.requestId()) + " (block "
                    + b.block() + ")");
            mine(stack, 3);
            Thread.sleep(1500); // give the node time to (wrongly) act on the vanished request
            assertTrue(stack.events.outcomes(b.requestId()).isEmpty(), "nothing may be sent for a vanished request");
            E2eStack.Sent b2 = stack.request(6, stack.basic().withPrompt("One day, a little dog").withSeed(3));
            E2eStack.log("replacement request has id " + E2eStack.hex(b2.requestId()) + (b2.requestId()
                    .equals(b.requestId()) ? " (same id as the vanished one)" : " (different id)"));
            CoordinatorEvents.Outcome b2Outcome = awaitWithMining(stack, b2.requestId(), Duration.ofSeconds(90));
            mine(stack, 4);
            assertTrue(b2Outcome.fulfilled(), () -> "replacement request failed: " + b2Outcome.reason());
            assertEquals(1, stack.events.outcomes(b2.requestId()).size(), "replacement ended exactly once");

            int total = stack.events.outcomes().size();
            E2eStack.log(String.format("reorg figures: reorgs=2 (depth %d fulfilment, depth %d request), "
                    + "requests=3 (1 vanished), outcomes on canonical chain=%d, duplicates=0", depth1, depth2, total));
            assertEquals(2, total, "canonical chain holds exactly the two live requests' outcomes");
        }
    }

    /** Mines a block every 300 ms (the node needs confirmations) until the request has an outcome. */
    private static CoordinatorEvents.Outcome awaitWithMining(E2eStack stack, BigInteger id, Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            List<CoordinatorEvents.Outcome> list = stack.events.outcomes(id);
            if (!list.isEmpty()) {
                return list.getFirst();
            }
            stack.anvil.mine(1);
            Thread.sleep(300);
        }
        throw new AssertionError("no outcome for " + E2eStack.hex(id) + " within " + timeout.toSeconds()
                + " s; journal: " + stack.journalLine(id) + "\n" + stack.oracleLogTail());
    }

    private static void mine(E2eStack stack, int blocks) throws InterruptedException {
        for (int i = 0; i < blocks; i++) {
            stack.anvil.mine(1);
            Thread.sleep(300);
        }
    }
}
