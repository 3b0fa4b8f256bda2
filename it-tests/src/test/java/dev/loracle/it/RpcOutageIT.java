package dev.loracle.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.oracle.devstack.CoordinatorEvents;
import java.math.BigInteger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The oracle reaches Anvil only through a TCP proxy. Mid-run the proxy goes down for loracle.it.rpcOutageSeconds
 * (default 20 s) and cuts every connection (HTTP and WebSocket); requests keep arriving on the chain meanwhile.
 * Health must show the chain problem during the outage, and when the RPC is back the node must catch up and end
 * every request exactly once.
 */
@Tag("fault")
class RpcOutageIT {
    @Test
    void recoversAfterRpcOutage() throws Exception {
        int outageSeconds = Integer.getInteger("loracle.it.rpcOutageSeconds", 20);
        try (E2eStack stack = E2eStack.builder().rpcProxy().start()) {
            List<BigInteger> ids = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                ids.add(stack.request(5, stack.basic().withSeed(i)).requestId());
            }
            stack.awaitOutcomes(ids, Duration.ofSeconds(60));
            int before = stack.events.outcomes().size();

            stack.rpcProxy.stop();
            long down = System.nanoTime();
            E2eStack.log("RPC proxy down for " + outageSeconds + " s");
            for (int i = 5; i < 10; i++) {
                ids.add(stack.request(6, stack.basic().withSeed(i)).requestId());
            }
            String worstHealth = "UP";
            while ((System.nanoTime() - down) / 1_000_000_000L < outageSeconds) {
                String status = healthStatus(stack);
                if (!status.equals("UP")) {
                    worstHealth = status;
                }
                Thread.sleep(500);
            }
            int duringOutage = stack.events.outcomes().size() - before;
            stack.rpcProxy.start();
            long up = System.nanoTime();
            E2eStack.log("RPC proxy up again; health during the outage: " + worstHealth);
            for (int i = 10; i < 15; i++) {
                ids.add(stack.request(7, stack.basic().withSeed(i)).requestId());
            }
            Map<BigInteger, List<CoordinatorEvents.Outcome>> outcomes = stack.awaitOutcomes(ids, Duration.ofSeconds(120));
            long catchUpMs = (System.nanoTime() - up) / 1_000_000;
            long fulfilled = ids.stream().filter(id -> outcomes.containsKey(id) && outcomes.get(id).size() == 1
                    && outcomes.get(id).getFirst().fulfilled()).count();
            long missing = ids.stream().filter(id -> !outcomes.containsKey(id)).count();
            long duplicated = ids.stream().filter(id -> outcomes.containsKey(id) && outcomes.get(id).size() > 1).count();
            E2eStack.log(String.format("rpc outage figures: requests=%d outage=%ds fulfilledDuringOutage=%d "
                            + "fulfilled=%d missing=%d duplicated=%d catchUp=%dms healthDuringOutage=%s",
                    ids.size(), outageSeconds, duringOutage, fulfilled, missing, duplicated, catchUpMs, worstHealth));
            assertEquals(0, duringOutage, "nothing can reach the chain while the RPC is down");
            assertNotEquals("UP", worstHealth, "health must report the unreachable RPC during the outage");
            assertEquals(0, missing, "requests lost");
            assertEquals(0, duplicated, "requests ended twice");
            assertEquals(ids.size(), fulfilled, "every request fulfilled after the outage");
            assertTrue(stack.oracle.isAlive(), "the oracle must survive the outage");
            String healthAfter = healthStatus(stack);
            for (int i = 0; i < 60 && !healthAfter.equals("UP"); i++) {
                Thread.sleep(500);
                healthAfter = healthStatus(stack);
            }
            assertEquals("UP", healthAfter, "health back to UP within 30 s of recovery");
        }
    }

    private static String healthStatus(E2eStack stack) {
        try {
            var status = stack.rest().health().get("status");
            return status == null ? "?" : status.asString();
        } catch (RuntimeException e) {
            return "UNREACHABLE";
        }
    }
}
