package dev.loracle.oracle.session;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class TurnGateTest {
    private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
    private final LinkedBlockingQueue<String> dispatched = new LinkedBlockingQueue<>();

    @AfterEach
    void stop() {
        timers.shutdownNow();
    }

    private TurnGate gate() {
        TurnGate gate = new TurnGate(timers, Clock.systemUTC(), Duration.ofSeconds(2));
        gate.dispatchTo(dispatched::add);
        return gate;
    }

    @Test
    void aParkedTurnIsDispatchedWhenATurnOfItsSessionEnds() throws Exception {
        TurnGate gate = gate();
        gate.park("r2", "s1", 0, gate.endingsSeen("s1"), "turn 1 pending");
        gate.park("x9", "s2", 0, gate.endingsSeen("s2"), "other session");
        assertThat(gate.isParked("r2")).isTrue();
        assertThat(dispatched.poll(200, TimeUnit.MILLISECONDS)).as("nothing happens while it waits").isNull();

        gate.turnEnded("s1");
        assertThat(dispatched.poll(5, TimeUnit.SECONDS)).isEqualTo("r2");
        assertThat(gate.isParked("r2")).isFalse();
        assertThat(gate.isParked("x9")).as("another session's turn keeps waiting").isTrue();
        assertThat(gate.parkedCount()).isEqualTo(1);
    }

    @Test
    void aTurnThatEndsBetweenTheCheckAndTheParkIsNotMissed() throws Exception {
        TurnGate gate = gate();
        long seen = gate.endingsSeen("s1");
        gate.turnEnded("s1"); // the ingestion journals the end while the intake was still deciding
        gate.park("r2", "s1", 0, seen, "turn 1 pending (stale check)");
        assertThat(dispatched.poll(5, TimeUnit.SECONDS)).isEqualTo("r2");
        assertThat(gate.isParked("r2")).isFalse();
    }

    @Test
    void theDeadlineMarginReleasesAParkedTurn() throws Exception {
        TurnGate gate = gate();
        long deadline = System.currentTimeMillis() / 1000 + 3; // margin 2 s: released within about a second
        gate.park("r2", "s1", deadline, gate.endingsSeen("s1"), "turn 1 pending");
        assertThat(dispatched.poll(5, TimeUnit.SECONDS)).isEqualTo("r2");
        assertThat(gate.isParked("r2")).isFalse();
    }
}
