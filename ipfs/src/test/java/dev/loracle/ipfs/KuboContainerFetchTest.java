package dev.loracle.ipfs;

import java.net.URI;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.utility.DockerImageName;

/**
 * The same fetch scenarios against Kubo in Docker ({@code ipfs/kubo}), which adds the trustless-gateway CAR path
 * ({@code GET /ipfs/{cid}?format=car}). Skipped, with JUnit's "Docker is not available" reason, where Docker is absent;
 * every scenario here also runs against the local node in {@link LocalNodeFetchTest}.
 */
@Testcontainers(disabledWithoutDocker = true)
class KuboContainerFetchTest extends FetchScenarios {
    @Container
    @SuppressWarnings("resource")
    static final GenericContainer<?> KUBO = new GenericContainer<>(DockerImageName.parse("ipfs/kubo:v0.32.1"))
            .withCommand("daemon", "--offline")
            .withExposedPorts(5001, 8080)
            .waitingFor(Wait.forLogMessage(".*Daemon is ready.*", 1));

    @Override
    URI apiUrl() {
        return URI.create("http://" + KUBO.getHost() + ":" + KUBO.getMappedPort(5001));
    }

    @Override
    URI trustlessGatewayUrl() {
        return URI.create("http://" + KUBO.getHost() + ":" + KUBO.getMappedPort(8080));
    }
}
