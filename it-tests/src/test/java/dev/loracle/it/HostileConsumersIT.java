package dev.loracle.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.oracle.devstack.CoordinatorEvents;
import java.math.BigInteger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Consumers that misbehave in their callback: one reverts, one burns all the gas it is given, one tries to re-enter
 * the coordinator (withdraw and a new request). The fulfilment must still land (callbackSucceeded=false where the
 * callback failed), the oracle must be credited every fee, and it must keep serving.
 */
class HostileConsumersIT {
    @Test
    void oracleIsPaidAndMovesOn() throws Exception {
        try (E2eStack stack = E2eStack.builder().start()) {
            String oracle = E2eStack.account(E2eStack.ORACLE).getAddress();
            BigInteger creditsBefore = stack.credits(oracle);
            TestConsumer reverting = TestConsumer.deploy(stack, "RevertingConsumer", 5);
            TestConsumer burning = TestConsumer.deploy(stack, "GasBurningConsumer", 6);
            TestConsumer reentering = TestConsumer.deploy(stack, "ReenteringConsumer", 7);
            List<TestConsumer> hostile = List.of(reverting, burning, reentering);
            List<E2eStack.Sent> sent = new ArrayList<>();
            for (TestConsumer c : hostile) {
                sent.add(c.request(stack.basic()));
            }
            BigInteger fees = BigInteger.ZERO;
            List<String> figures = new ArrayList<>();
            for (int i = 0; i < hostile.size(); i++) {
                CoordinatorEvents.Outcome o = stack.awaitOutcome(sent.get(i).requestId(), Duration.ofSeconds(90));
                String name = hostile.get(i).name;
                assertTrue(o.fulfilled(), () -> name + ": request not fulfilled: " + o.reason());
                fees = fees.add(sent.get(i).fee());
                figures.add(name + " fulfilled, callbackSucceeded=" + o.callbackSucceeded());
                if (hostile.get(i) != reentering) {
                    assertFalse(o.callbackSucceeded(), name + "'s callback cannot succeed");
                }
            }
            // The re-entrant callback ran, but the coordinator refused both nested calls (nonReentrant).
            assertEquals(BigInteger.ONE, reentering.uint("attempts"), "re-entering callback ran once");
            assertFalse(reentering.bool("withdrawSucceeded"), "re-entrant withdraw must fail");
            assertFalse(reentering.bool("requestSucceeded"), "re-entrant request must fail");
            assertEquals(fees, stack.credits(oracle).subtract(creditsBefore), "the oracle is credited every fee");

            E2eStack.Sent good = stack.request(8, stack.basic());
            CoordinatorEvents.Outcome g = stack.awaitOutcome(good.requestId(), Duration.ofSeconds(90));
            assertTrue(g.fulfilled(), "a normal request afterwards is fulfilled");
            figures.forEach(f -> E2eStack.log("hostile consumer: " + f));
            E2eStack.log("hostile consumers: oracle credited " + fees + " wei for 3 hostile requests; next request fulfilled");
        }
    }
}
