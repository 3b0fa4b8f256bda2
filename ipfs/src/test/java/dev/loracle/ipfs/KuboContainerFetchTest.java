package dev.loracle.ipfs;

import java.net.URI;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.utility.DockerImageName;

/**
 * The same fetch scenarios against Kubo in Docker ({@code ipfs/kubo}, or {@code LORACLE_KUBO_IMAGE}), which adds the
 * trustless-gateway CAR path ({@code GET /ipfs/{cid}?format=car}). Skipped, with JUnit's "Docker is not available"
 * reason, where Docker is absent, and with its own reason where the engine has no Kubo image and cannot pull one (no
 * registry: there is no Debian or npm Kubo to build a stand-in from). Every scenario here also runs against the local
 * node in {@link LocalNodeFetchTest}.
 */
@Testcontainers(disabledWithoutDocker = true)
@ExtendWith(KuboContainerFetchTest.ImageAvailable.class)
class KuboContainerFetchTest extends FetchScenarios {
    private static final DockerImageName IMAGE = DockerImageName.parse(
            System.getenv().getOrDefault("LORACLE_KUBO_IMAGE", "ipfs/kubo:v0.32.1"));
    private static GenericContainer<?> kubo;

    @BeforeAll
    @SuppressWarnings("resource")
    static void startKubo() {
        kubo = new GenericContainer<>(IMAGE)
                .withCommand("daemon", "--offline")
                .withExposedPorts(5001, 8080)
                .waitingFor(Wait.forLogMessage(".*Daemon is ready.*", 1));
        kubo.start();
    }

    @AfterAll
    static void stopKubo() {
        if (kubo != null) kubo.stop();
    }

    /** Disables the class, with the reason, unless the image is in the local engine or can be pulled now. */
    static final class ImageAvailable implements ExecutionCondition {
        private static ConditionEvaluationResult result;

        @Override
        public synchronized ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            if (!DockerClientFactory.instance().isDockerAvailable()) {
                return ConditionEvaluationResult.enabled("no Docker: @Testcontainers(disabledWithoutDocker) decides");
            }
            if (result == null) {
                String failure = unavailableReason();
                result = failure == null ? ConditionEvaluationResult.enabled(IMAGE + " is available")
                        : ConditionEvaluationResult.disabled("image " + IMAGE.asCanonicalNameString()
                                + " is not in the local Docker engine and cannot be pulled (" + failure + ")");
            }
            return result;
        }

        private static String unavailableReason() {
            var docker = DockerClientFactory.instance().client();
            try {
                docker.inspectImageCmd(IMAGE.asCanonicalNameString()).exec();
                return null;
            } catch (RuntimeException notLocal) {
                // try the registry below
            }
            try {
                return docker.pullImageCmd(IMAGE.getUnversionedPart()).withTag(IMAGE.getVersionPart()).start()
                        .awaitCompletion(180, TimeUnit.SECONDS) ? null : "pull timed out after 180 s";
            } catch (RuntimeException e) {
                return e.getMessage();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "interrupted";
            }
        }
    }

    @Override
    URI apiUrl() {
        return URI.create("http://" + kubo.getHost() + ":" + kubo.getMappedPort(5001));
    }

    @Override
    URI trustlessGatewayUrl() {
        return URI.create("http://" + kubo.getHost() + ":" + kubo.getMappedPort(8080));
    }
}
