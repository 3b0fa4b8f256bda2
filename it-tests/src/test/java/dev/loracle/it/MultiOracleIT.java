package dev.loracle.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.oracle.devstack.CoordinatorEvents;
import java.math.BigInteger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Two live oracle nodes on one coordinator, with a short exclusive window (2 s) so that each node also looks at the
 * other's requests once their window has passed: 100 requests must each be fulfilled exactly once, and the two nodes
 * together may start at most 105 generations (a node checks isPending right before generating and right before
 * sending, so work another node has done is not done again). Round-robin assignment gives each node about half.
 */
class MultiOracleIT {
    private static final int REQUESTS = Integer.getInteger("loracle.it.multiOracleRequests", 100);

    @Test
    void hundredRequestsEachFulfilledOnceWithoutDoubleWork() throws Exception {
        try (E2eStack stack = E2eStack.builder().secondOracle().exclusiveWindow(2).start()) {
            String a = E2eStack.account(E2eStack.ORACLE).getAddress();
            String b = E2eStack.account(E2eStack.ORACLE_2).getAddress();
            List<BigInteger> ids = new ArrayList<>();
            Map<String, Integer> assigned = new HashMap<>();
            for (int i = 0; i < REQUESTS; i++) {
                E2eStack.Spec spec = stack.basic().withSeed(500 + i).withMaxTokens(4 + i % 5);
                E2eStack.Sent sent = stack.request(5 + i % 4, spec);
                ids.add(sent.requestId());
            }
            Map<BigInteger, List<CoordinatorEvents.Outcome>> outcomes = stack.awaitOutcomes(ids, Duration.ofSeconds(240));
            int fulfilled = 0;
            for (BigInteger id : ids) {
                List<CoordinatorEvents.Outcome> list = outcomes.get(id);
                assertTrue(list != null, () -> "request " + E2eStack.hex(id) + " has no outcome; " + stack.journalLine(id));
                assertEquals(1, list.size(), () -> "request " + E2eStack.hex(id) + " ended " + list.size() + " times");
                assertTrue(list.getFirst().fulfilled(), () -> "request failed: " + list.getFirst().reason());
                fulfilled++;
                assigned.merge(list.getFirst().oracle().equalsIgnoreCase(a) ? "A" : "B", 1, Integer::sum);
            }
            double generationsA = stack.rest().prometheus("loracle_generations_total");
            double generationsB = new dev.loracle.oracle.devstack.OracleRestClient(stack.oracle2.settings().restUrl())
                    .prometheus("loracle_generations_total");
            Map<BigInteger, Integer> sentA = stack.fulfilTransactionsSent(a);
            Map<BigInteger, Integer> sentB = stack.fulfilTransactionsSent(b);
            int txs = sentA.values().stream().mapToInt(Integer::intValue).sum() + sentB.values().stream().mapToInt(Integer::intValue).sum();
            E2eStack.log(String.format("multi-oracle figures: requests=%d fulfilled=%d served A=%d B=%d generations A=%.0f "
                            + "B=%.0f (total %.0f) fulfil txs sent A=%d B=%d", REQUESTS, fulfilled, assigned.getOrDefault("A", 0),
                    assigned.getOrDefault("B", 0), generationsA, generationsB, generationsA + generationsB,
                    sentA.size(), sentB.size()));
            assertEquals(REQUESTS, fulfilled);
            assertTrue(generationsA + generationsB >= REQUESTS, "every fulfilment needs a generation");
            assertTrue(generationsA + generationsB <= REQUESTS * 1.05,
                    "the two nodes generated " + (generationsA + generationsB) + " times for " + REQUESTS + " requests");
            assertTrue(txs <= REQUESTS * 1.05, "fulfil transactions sent by both nodes: " + txs);
            assertTrue(assigned.getOrDefault("A", 0) >= REQUESTS / 4 && assigned.getOrDefault("B", 0) >= REQUESTS / 4,
                    "round-robin spreads the work over both nodes: " + assigned);
        }
    }
}
