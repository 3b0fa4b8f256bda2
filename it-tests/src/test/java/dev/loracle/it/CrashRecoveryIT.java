package dev.loracle.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.oracle.devstack.CoordinatorEvents;
import java.math.BigInteger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * kill -9 of the oracle JVM while 30 requests are in flight, three times, each followed by a restart on the same
 * journal (H2 file): every request must be fulfilled, none lost, and the node must have SENT exactly one fulfil
 * transaction per request (counted from the chain: with automine every transaction it sends is mined, including a
 * second fulfilment the coordinator would revert, which the one-event-per-request rule alone cannot see).
 * Requests come in three batches; batches 2 and 3 are emitted while the node is dead (found again by backfill).
 * Kill 1 hits a random moment after start-up, kills 2 and 3 the moment a request is RUNNING / SUBMITTED (plus a
 * random 0-200 ms). The random parts come from a seeded RNG (printed; replay with -Dloracle.it.crashSeed=N).
 */
@Tag("fault")
class CrashRecoveryIT {
    /** What each kill waits for: null = a random time, else a journal state some request must be in. */
    private static final String[] KILL_TARGETS = {null, "RUNNING", "SUBMITTED"};

    private static String waitRandom(long ms) throws InterruptedException {
        Thread.sleep(ms);
        return "at a random time";
    }

    /** Polls the journal until a request is in {@code state} (then waits {@code extraMs % 200} ms more). */
    private static String waitForState(E2eStack stack, String state, long extraMs) throws InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < deadline) {
            try {
                var list = stack.rest().requests(state);
                if (list.isArray() && !list.isEmpty()) {
                    Thread.sleep(extraMs % 200);
                    return "while " + list.size() + " request(s) " + state;
                }
            } catch (RuntimeException e) {
                // node still starting
            }
            Thread.sleep(10);
        }
        return "(no request reached " + state + " within 60 s)";
    }

    @Test
    void everyRequestFulfilledExactlyOnceAcrossKills() throws Exception {
        int requests = Integer.getInteger("loracle.it.crashRequests", 30);
        long seed = Long.getLong("loracle.it.crashSeed", System.nanoTime());
        Random random = new Random(seed);
        int kills = 3;
        E2eStack.log("crash test: " + requests + " requests, " + kills + " kills, seed " + seed);
        try (E2eStack stack = E2eStack.builder().start()) {
            List<BigInteger> ids = new ArrayList<>();
            List<String> killLog = new ArrayList<>();
            int perBatch = (requests + kills - 1) / kills;
            for (int k = 0; k < kills; k++) {
                // A batch is sent while the previous oracle is dead (k > 0: picked up by backfill after restart).
                for (int i = k * perBatch; i < Math.min(requests, (k + 1) * perBatch); i++) {
                    E2eStack.Spec spec = stack.basic().withSeed(1000 + i).withMaxTokens(16 + (i % 5) * 8);
                    ids.add(stack.request(5 + (i % 3), spec).requestId());
                }
                if (k > 0) {
                    stack.startOracle();
                }
                // Kill 1 at a random moment; kills 2 and 3 the moment some request is RUNNING / SUBMITTED
                // (the windows where a crash could lose work or send a fulfilment twice), or after a random time.
                String target = KILL_TARGETS[k % KILL_TARGETS.length];
                long delay = random.nextInt(1500);
                long t0 = System.nanoTime();
                String seen = target == null ? waitRandom(delay) : waitForState(stack, target, delay);
                int done = stack.events.outcomes().size();
                stack.oracle.kill();
                killLog.add("kill " + (k + 1) + " " + seen + " after " + (System.nanoTime() - t0) / 1_000_000
                        + " ms (" + done + "/" + ids.size() + " ended on-chain)");
                E2eStack.log(killLog.getLast());
            }
            stack.startOracle();
            Map<BigInteger, List<CoordinatorEvents.Outcome>> outcomes = stack.awaitOutcomes(ids, Duration.ofSeconds(180));
            int fulfilled = 0;
            int failed = 0;
            int missing = 0;
            int duplicated = 0;
            Map<BigInteger, Integer> sent = stack.fulfilTransactionsSent(E2eStack.account(E2eStack.ORACLE).getAddress());
            for (BigInteger id : ids) {
                List<CoordinatorEvents.Outcome> list = outcomes.get(id);
                if (list == null) {
                    missing++;
                    continue;
                }
                if (sent.getOrDefault(id, 0) > 1) {
                    duplicated++;
                }
                if (list.getFirst().fulfilled()) {
                    fulfilled++;
                } else {
                    failed++;
                }
            }
            E2eStack.log(String.format("crash test figures: requests=%d kills=%d restarts=%d fulfilled=%d failed=%d "
                    + "missing=%d duplicated fulfil txs sent=%d seed=%d", requests, kills, stack.oracle.starts() - 1, fulfilled, failed,
                    missing, duplicated, seed));
            assertEquals(0, missing, "requests without an outcome (lost)");
            assertEquals(0, duplicated, "requests the node sent more than one fulfil transaction for: "
                    + sent.entrySet().stream().filter(e -> e.getValue() > 1).toList());
            assertEquals(requests, sent.size(), "fulfil transactions sent for every request");
            assertEquals(requests, fulfilled, "every request must be fulfilled (failures: " + failed + ")");
            for (BigInteger id : ids) {
                assertTrue(!stack.coordinatorAs(0).isPending(id).send(), "request still pending on-chain");
            }
        }
    }
}
