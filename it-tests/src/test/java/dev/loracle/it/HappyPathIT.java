package dev.loracle.it;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The whole system at automine and with a 1 s block time (2 confirmations for requests and fulfilments). */
class HappyPathIT {
    @Test
    void automine() throws Exception {
        try (E2eStack stack = E2eStack.builder().start()) {
            HappyPathScenario.run(stack, "happy path (automine)", Duration.ofSeconds(90));
        }
    }

    @Test
    void oneSecondBlocksWithTwoConfirmations() throws Exception {
        try (E2eStack stack = E2eStack.builder().blockTime(1).confirmations(2, 2).start()) {
            HappyPathScenario.run(stack, "happy path (1 s blocks, 2 confirmations)", Duration.ofSeconds(120));
        }
    }
}
