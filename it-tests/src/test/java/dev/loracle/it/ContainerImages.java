package dev.loracle.it;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.concurrent.TimeUnit;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.utility.DockerImageName;

/**
 * Which images the Testcontainers variants use, and whether one can be had. Where no registry is reachable (the
 * build machines here), {@code deploy/local-images} builds stand-ins and names them through system properties or
 * environment variables; an image that is neither local nor pullable skips the test with that reason.
 */
final class ContainerImages {
    private ContainerImages() {}

    /**
     * PostgreSQL: {@code -Dloracle.it.postgresImage} or {@code LORACLE_POSTGRES_IMAGE} (e.g. {@code
     * loracle-local/postgres:15}), else the official {@code postgres} image.
     */
    static DockerImageName postgres() {
        return configured("loracle.it.postgresImage", "LORACLE_POSTGRES_IMAGE", "postgres:17-alpine")
                .asCompatibleSubstituteFor("postgres");
    }

    /** Kubo: {@code -Dloracle.it.kuboImage} or {@code LORACLE_KUBO_IMAGE}, else {@code ipfs/kubo}. */
    static DockerImageName kubo() {
        return configured("loracle.it.kuboImage", "LORACLE_KUBO_IMAGE", "ipfs/kubo:v0.32.1");
    }

    /** Skips the calling test unless {@code image} is in the local engine or can be pulled now. */
    static void assumeAvailable(DockerImageName image) {
        var docker = DockerClientFactory.instance().client();
        boolean bridge = docker.listNetworksCmd().withNameFilter("bridge").exec().stream()
                .anyMatch(n -> "bridge".equals(n.getName()));
        assumeTrue(bridge, "the Docker engine has no bridge network (dockerd --bridge=none), so containers cannot "
                + "publish the ports Testcontainers maps");
        String name = image.asCanonicalNameString();
        try {
            docker.inspectImageCmd(name).exec();
            return;
        } catch (RuntimeException notLocal) {
            // try the registry below
        }
        String failure;
        try {
            boolean done = docker.pullImageCmd(image.getUnversionedPart()).withTag(image.getVersionPart())
                    .start().awaitCompletion(180, TimeUnit.SECONDS);
            failure = done ? null : "pull timed out after 180 s";
        } catch (RuntimeException e) {
            failure = e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failure = "interrupted";
        }
        assumeTrue(failure == null, "image " + name + " is not in the local Docker engine and cannot be pulled ("
                + failure + "); deploy/local-images has no stand-in for it");
    }

    private static DockerImageName configured(String property, String env, String fallback) {
        String name = System.getProperty(property);
        if (name == null || name.isBlank()) name = System.getenv(env);
        return DockerImageName.parse(name == null || name.isBlank() ? fallback : name);
    }
}
