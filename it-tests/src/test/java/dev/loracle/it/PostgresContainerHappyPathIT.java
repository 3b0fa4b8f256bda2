package dev.loracle.it;

import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.postgresql.PostgreSQLContainer;

/**
 * The happy path with the journal in a PostgreSQL container: the image operators run ({@code postgres}) or, without
 * a registry, the stand-in {@code deploy/local-images} builds ({@link ContainerImages#postgres()}). The chain and the
 * IPFS node are local processes. Needs Docker; without it JUnit reports the class as skipped
 * ("disabledWithoutDocker"). The same scenario runs against the local PostgreSQL server in {@link PostgresJournalIT}.
 */
@Testcontainers(disabledWithoutDocker = true)
class PostgresContainerHappyPathIT {
    private static PostgreSQLContainer postgres;

    @BeforeAll
    static void startPostgres() {
        ContainerImages.assumeAvailable(ContainerImages.postgres());
        postgres = new PostgreSQLContainer(ContainerImages.postgres());
        postgres.start();
    }

    @AfterAll
    static void stopPostgres() {
        if (postgres != null) postgres.stop();
    }

    @Test
    void happyPathWithPostgresContainer() throws Exception {
        try (E2eStack stack = E2eStack.builder()
                .jdbc(postgres.getJdbcUrl() + "&password=" + postgres.getPassword(), postgres.getUsername())
                .start()) {
            HappyPathScenario.run(stack, "happy path (PostgreSQL container " + postgres.getDockerImageName() + ")",
                    Duration.ofSeconds(90));
        }
    }
}
