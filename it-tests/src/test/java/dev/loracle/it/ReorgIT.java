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
            awaitNodeScanned(stack, stack.anvil.blockNumber().longValueExact());
            // the node has scanned past the blocks where B would have been confirmed: it must not know B at all
            assertTrue(stack.rest().request(b.requestId()).isEmpty(),
                    () -> "the node journaled a request that was reorged away before confirmation: " + stack.journalLine(b.requestId()));
            E2eStack.Sent b2 = stack.request(6, stack.basic().withPrompt("One day, a little dog").withSeed(3));
            E2eStack.log("replacement request has id " + E2eStack.hex(b2.requestId()) + (b2.requestId()
                    .equals(b.requestId()) ? " (same id as the vanished one)" : " (different id)"));
            CoordinatorEvents.Outcome b2Outcome = awaitWithMining(stack, b2.requestId(), Duration.ofSeconds(90));
            mine(stack, 4);
            assertTrue(b2Outcome.fulfilled(), () -> "replacement request failed: " + b2Outcome.reason());
            assertEquals(1, stack.events.outcomes(b2.requestId()).size(), "replacement ended exactly once");
            String served = dev.loracle.oracle.devstack.OracleRestClient.field(stack.rest().request(b2.requestId()).orElseThrow(),
                    "prompt").asString();
            assertEquals("One day, a little dog", served, "the node served the replacement's content");
            assertEquals(1, stack.fulfilTransactionsSent(E2eStack.account(E2eStack.ORACLE).getAddress())
                    .getOrDefault(b2.requestId(), 0), "exactly one fulfil transaction sent for the reused id");

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

    /**
     * Waits until the node's ingestion has fully processed block {@code block}: a round that saw a head beyond it has
     * started (the loop runs rounds one after another, so the round that covered {@code block} is finished).
     */
    private static void awaitNodeScanned(E2eStack stack, long block) throws InterruptedException {
        stack.anvil.mine(1);
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (stack.rest().prometheus("loracle_chain_head") < block + 1) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the node's chain head did not reach " + (block + 1) + "\n" + stack.oracleLogTail());
            }
            Thread.sleep(100);
        }
        stack.anvil.mine(1);
        while (stack.rest().prometheus("loracle_chain_head") < block + 2) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the node's chain head did not reach " + (block + 2) + "\n" + stack.oracleLogTail());
            }
            Thread.sleep(100);
        }
    }

    private static void mine(E2eStack stack, int blocks) throws InterruptedException {
        for (int i = 0; i < blocks; i++) {
            stack.anvil.mine(1);
            Thread.sleep(300);
        }
    }
}
