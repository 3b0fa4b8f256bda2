package dev.loracle.it;

import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.postgresql.PostgreSQLContainer;

/**
 * The happy path against the images operators run: Kubo ({@code ipfs/kubo}) instead of the local js-ipfs node and
 * PostgreSQL as the journal. Needs Docker (else skipped: "disabledWithoutDocker") and a Kubo image, local or
 * pullable (else skipped with that reason: there is no Debian or npm Kubo to build a stand-in from). The same scenario
 * runs against local processes in {@link HappyPathIT} and with a PostgreSQL container in
 * {@link PostgresContainerHappyPathIT}.
 */
@Testcontainers(disabledWithoutDocker = true)
class KuboContainerHappyPathIT {
    private static GenericContainer<?> kubo;
    private static PostgreSQLContainer postgres;

    @BeforeAll
    @SuppressWarnings("resource")
    static void startContainers() {
        ContainerImages.assumeAvailable(ContainerImages.kubo());
        ContainerImages.assumeAvailable(ContainerImages.postgres());
        kubo = new GenericContainer<>(ContainerImages.kubo())
                .withEnv("IPFS_PROFILE", "test")
                .withCommand("daemon", "--offline", "--migrate=true")
                .withExposedPorts(5001)
                .waitingFor(Wait.forLogMessage(".*Daemon is ready.*", 1).withStartupTimeout(Duration.ofSeconds(90)));
        kubo.start();
        postgres = new PostgreSQLContainer(ContainerImages.postgres());
        postgres.start();
    }

    @AfterAll
    static void stopContainers() {
        if (postgres != null) postgres.stop();
        if (kubo != null) kubo.stop();
    }

    @Test
    void happyPathWithKuboAndPostgresContainers() throws Exception {
        String kuboApi = "http://" + kubo.getHost() + ":" + kubo.getMappedPort(5001);
        try (E2eStack stack = E2eStack.builder().externalIpfs(kuboApi)
                .jdbc(postgres.getJdbcUrl() + "&password=" + postgres.getPassword(), postgres.getUsername())
                .start()) {
            HappyPathScenario.run(stack, "happy path (Kubo + PostgreSQL containers)", Duration.ofSeconds(90));
        }
    }
}
