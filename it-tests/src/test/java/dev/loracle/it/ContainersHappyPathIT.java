package dev.loracle.it;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.postgresql.PostgreSQLContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.utility.DockerImageName;

/**
 * The happy path against the images operators run: Kubo ({@code ipfs/kubo}) instead of the local js-ipfs node and
 * PostgreSQL ({@code postgres}) as the journal. Needs Docker; without it JUnit reports the class as skipped
 * ("disabledWithoutDocker"). The same scenario runs against local processes in {@link HappyPathIT} and
 * {@link PostgresJournalIT}.
 */
@Testcontainers(disabledWithoutDocker = true)
class ContainersHappyPathIT {
    @Container
    static final GenericContainer<?> KUBO = new GenericContainer<>(DockerImageName.parse("ipfs/kubo:v0.32.1"))
            .withEnv("IPFS_PROFILE", "test")
            .withCommand("daemon", "--offline", "--migrate=true")
            .withExposedPorts(5001)
            .waitingFor(Wait.forLogMessage(".*Daemon is ready.*", 1).withStartupTimeout(Duration.ofSeconds(90)));

    @Container
    static final PostgreSQLContainer POSTGRES = new PostgreSQLContainer(DockerImageName.parse("postgres:17-alpine"));

    @Test
    void happyPathWithKuboAndPostgresContainers() throws Exception {
        String kuboApi = "http://" + KUBO.getHost() + ":" + KUBO.getMappedPort(5001);
        try (E2eStack stack = E2eStack.builder().externalIpfs(kuboApi)
                .jdbc(POSTGRES.getJdbcUrl() + "&password=" + POSTGRES.getPassword(), POSTGRES.getUsername())
                .start()) {
            HappyPathScenario.run(stack, "happy path (Kubo + PostgreSQL containers)", Duration.ofSeconds(90));
        }
    }
}
