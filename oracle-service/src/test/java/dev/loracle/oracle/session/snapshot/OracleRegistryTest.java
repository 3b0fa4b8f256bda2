package dev.loracle.oracle.session.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The coordinator is asked once per TTL for an oracle, once per TTL/10 for a stranger, and a failing lookup is no yes. */
class OracleRegistryTest {
    private Instant now = Instant.parse("2026-12-04T22:00:00Z");
    private final Clock clock = new Clock() {
        @Override public ZoneOffset getZone() { return ZoneOffset.UTC; }
        @Override public Clock withZone(java.time.ZoneId zone) { return this; }
        @Override public Instant instant() { return now; }
    };

    @Test
    void answersAreRememberedForTheirTimeAndAFailedLookupIsARejection() {
        AtomicInteger asked = new AtomicInteger();
        AtomicBoolean chainDown = new AtomicBoolean();
        OracleRegistry registry = new OracleRegistry(a -> {
            asked.incrementAndGet();
            if (chainDown.get()) throw new IllegalStateException("rpc down");
            return a.equals("0xaa");
        }, Duration.ofSeconds(60), clock);

        assertThat(registry.isOracle("0xAA")).isTrue();
        assertThat(registry.isOracle("0xbb")).isFalse();
        assertThat(asked).hasValue(2);
        now = now.plusSeconds(10);
        assertThat(registry.isOracle("0xaa")).isTrue();
        assertThat(registry.isOracle("0xbb")).isFalse();
        assertThat(asked).as("a no is asked again after a tenth of the TTL").hasValue(3);
        now = now.plusSeconds(60);
        chainDown.set(true);
        assertThatThrownBy(() -> registry.isOracle("0xaa")).isInstanceOf(SnapshotRejection.class)
                .satisfies(e -> assertThat(((SnapshotRejection) e).reason()).isEqualTo("registry_unavailable"));
        chainDown.set(false);
        assertThat(registry.isOracle("0xaa")).isTrue();
    }
}
