package dev.loracle.it;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where the repository and the model files are (set by the build; see the root pom's loracle.* properties). */
final class ItPaths {
    private ItPaths() {}

    static Path repoRoot() {
        String root = System.getProperty("loracle.root");
        if (root != null && !root.isBlank()) {
            return Path.of(root).toAbsolutePath().normalize();
        }
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isDirectory(dir.resolve("deploy/dev-stack"))) {
                return dir;
            }
        }
        throw new IllegalStateException("cannot find the repository root; set -Dloracle.root");
    }

    static Path modelsDir() {
        String dir = System.getProperty("loracle.models.dir");
        if (dir == null || dir.isBlank()) {
            dir = System.getenv("ORACLE_MODELS_DIR");
        }
        Path models = dir != null && !dir.isBlank() ? Path.of(dir) : repoRoot().resolve("../shared/models");
        models = models.toAbsolutePath().normalize();
        if (!Files.isRegularFile(models.resolve("llama2c/stories260K.bin"))) {
            throw new IllegalStateException("stories260K not found under " + models
                    + "; set -Dloracle.models.dir or ORACLE_MODELS_DIR (scripts/fetch-models downloads it)");
        }
        return models;
    }

    /** A Hardhat artifact (abi + bytecode) built by the contracts module. */
    static Path contractArtifact(String dir, String name) {
        Path p = repoRoot().resolve("contracts/artifacts/contracts").resolve(dir).resolve(name + ".sol")
                .resolve(name + ".json");
        if (!Files.isRegularFile(p)) {
            throw new IllegalStateException("contract artifact missing: " + p + " (build the contracts module first)");
        }
        return p;
    }
}
