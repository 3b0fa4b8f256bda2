package dev.loracle.oracle.session.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loracle.oracle.config.OracleProperties;
import dev.loracle.runtime.engine.InferenceEngine;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.validation.autoconfigure.ValidationAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The exchange's settings bind with defaults and are validated; without a chain the node gets the disabled exchange. */
class SnapshotExchangeConfigurationTest {
    @Configuration
    @EnableConfigurationProperties({OracleProperties.class, SnapshotProperties.class})
    static class NodeParts {
        @Bean(destroyMethod = "close")
        InferenceEngine engine() {
            return SessionFixture.engine();
        }

        @Bean
        MeterRegistry meters() {
            return new SimpleMeterRegistry();
        }

        @Bean
        Clock clock() {
            return Clock.systemUTC();
        }
    }

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(ValidationAutoConfiguration.class))
            .withUserConfiguration(NodeParts.class, SnapshotExchangeConfiguration.class)
            .withPropertyValues("loracle.chain.enabled=false", "loracle.ipfs.api-urls=http://127.0.0.1:5001",
                    "loracle.ipfs.cache-dir=run/cache", "loracle.model.name=stories260K", "loracle.model.path=m.bin");

    @Test
    void defaultsBindAndWithoutAChainTheExchangeIsDisabled() {
        runner.run(ctx -> {
            assertThat(ctx).hasNotFailed();
            SnapshotProperties p = ctx.getBean(SnapshotProperties.class);
            assertThat(p.enabled()).isTrue();
            assertThat(p.fetchTimeout()).isEqualTo(Duration.ofSeconds(3));
            assertThat(p.maxChainLength()).isEqualTo(32);
            KvSnapshotExchange exchange = ctx.getBean(KvSnapshotExchange.class);
            assertThat(exchange).isNotInstanceOf(IpfsKvSnapshotExchange.class);
            assertThat(exchange.publish(SessionFixture.turn(0), new int[40], 0, "")).isEmpty();
            assertThat(exchange.prepare(SessionFixture.turn(1), new int[40], java.util.List.of("")).source())
                    .isEqualTo(ResumeOutcome.Source.RECOMPUTE);
        });
    }

    @Test
    void badValuesNameTheirKey() {
        runner.withPropertyValues("loracle.session.snapshot.max-bytes=" + (SnapshotPublisher.MAX_FILE_BYTES + 1),
                "loracle.session.snapshot.max-chain-length=0", "loracle.session.snapshot.spot-check-tolerance=2").run(ctx -> {
            assertThat(ctx).hasFailed();
            assertThat(ctx.getStartupFailure()).rootCause().hasMessageContaining("maxBytes")
                    .hasMessageContaining("maxChainLength").hasMessageContaining("spotCheckTolerance");
        });
    }
}
