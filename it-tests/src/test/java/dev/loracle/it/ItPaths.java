package dev.loracle.it;

import dev.loracle.contracts.devchain.AnvilProcess;
import dev.loracle.contracts.devchain.DevChainDeployer;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where the repository and the model files are (set by the build; see the root pom's loracle.* properties). */
final class ItPaths {
    private ItPaths() {}

    /** The models directory as the dev chain tooling resolves it, checked to hold stories260K. */
    static Path modelsDir() {
        Path models = DevChainDeployer.modelsDir().toAbsolutePath().normalize();
        if (!Files.isRegularFile(models.resolve("llama2c/stories260K.bin"))) {
            throw new IllegalStateException("stories260K not found under " + models
                    + "; set -Dloracle.models.dir or ORACLE_MODELS_DIR (scripts/fetch-models downloads it)");
        }
        return models;
    }

    /** A Hardhat artifact (abi + bytecode) built by the contracts module. */
    static Path contractArtifact(String dir, String name) {
        Path p = AnvilProcess.repoRoot().resolve("contracts/artifacts/contracts").resolve(dir).resolve(name + ".sol")
                .resolve(name + ".json");
        if (!Files.isRegularFile(p)) {
            throw new IllegalStateException("contract artifact missing: " + p + " (build the contracts module first)");
        }
        return p;
    }
}
