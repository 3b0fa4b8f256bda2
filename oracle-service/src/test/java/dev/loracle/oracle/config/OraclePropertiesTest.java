package dev.loracle.oracle.config;

import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.validation.autoconfigure.ValidationAutoConfiguration;
import org.springframework.context.annotation.Configuration;

import static org.assertj.core.api.Assertions.assertThat;

/** Start-up validation of the node's settings: a bad value stops the node with a message naming the key. */
class OraclePropertiesTest {
    @Configuration
    @EnableConfigurationProperties(OracleProperties.class)
    static class PropsOnly {
    }

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(ValidationAutoConfiguration.class))
            .withUserConfiguration(PropsOnly.class)
            .withPropertyValues("loracle.chain.rpc-urls=http://127.0.0.1:8545", "loracle.chain.coordinator-address=0x" + "ab".repeat(20),
                    "loracle.ipfs.api-urls=http://127.0.0.1:5001", "loracle.ipfs.cache-dir=run/cache", "loracle.model.name=stories260K",
                    "loracle.model.path=m.bin", "loracle.api.keys=", "loracle.api.admin-keys=",
                    "loracle.tx.max-fee-cap-gwei=100", "loracle.scheduler.queue-capacity=8");

    @Test
    void validSettingsBindWithDefaults() {
        runner.run(ctx -> {
            assertThat(ctx).hasNotFailed();
            OracleProperties p = ctx.getBean(OracleProperties.class);
            assertThat(p.chain().confirmations()).isZero();
            assertThat(p.scheduler().queueCapacity()).isEqualTo(8);
            assertThat(p.model().attachMode()).isEqualTo("UNMERGED");
            assertThat(p.key().toString()).contains("privateKey=<unset>");
        });
    }

    @Test
    void kvCacheTypeIsPartOfTheModelSettings() {
        runner.run(ctx -> assertThat(ctx.getBean(OracleProperties.class).model().kvCache()).isEqualTo("F32"));
        runner.withPropertyValues("loracle.model.kv-cache=F16")
                .run(ctx -> assertThat(ctx.getBean(OracleProperties.class).model().kvCache()).isEqualTo("F16"));
        runner.withPropertyValues("loracle.model.kv-cache=Q4").run(ctx -> assertThat(ctx).hasFailed()
                .getFailure().rootCause().hasMessageContaining("kvCache"));
    }

    @Test
    void missingCoordinatorIsAClearStartupError() {
        runner.withPropertyValues("loracle.chain.coordinator-address=").run(ctx -> assertThat(ctx).hasFailed()
                .getFailure().rootCause().hasMessageContaining("loracle.chain.coordinator-address must be set"));
    }

    @Test
    void malformedValuesNameTheirKey() {
        runner.withPropertyValues("loracle.chain.coordinator-address=0x1234", "loracle.chain.confirmations=-1").run(ctx -> {
            assertThat(ctx).hasFailed();
            String message = ctx.getStartupFailure().getCause().getMessage() + ctx.getStartupFailure().getMessage();
            assertThat(ctx.getStartupFailure()).rootCause().hasMessageContaining("coordinatorAddress").hasMessageContaining("confirmations");
            assertThat(message).isNotBlank();
        });
    }

    @Test
    void keySecretIsNeverPrinted() {
        runner.withPropertyValues("loracle.key.private-key=0x" + "12".repeat(32)).run(ctx -> {
            OracleProperties p = ctx.getBean(OracleProperties.class);
            assertThat(p.key().toString()).doesNotContain("1212").contains("<redacted>");
        });
    }
}
