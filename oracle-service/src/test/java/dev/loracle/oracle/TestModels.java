package dev.loracle.oracle;

import dev.loracle.contracts.devchain.DevChainDeployer;
import dev.loracle.runtime.engine.BackendKind;
import dev.loracle.runtime.engine.EngineConfig;
import java.nio.file.Path;

/** The model files tests run on, from the models directory ({@code loracle.models.dir} / {@code ORACLE_MODELS_DIR}). */
public final class TestModels {
    private TestModels() {
    }

    /** stories260K (llama2.c file and tokenizer) on the CPU backend; callers add threads, prefix cache and the like. */
    public static EngineConfig stories260K() {
        Path models = DevChainDeployer.modelsDir();
        return EngineConfig.of(models.resolve("llama2c/stories260K.bin")).withTokenizer(models.resolve("llama2c/tok512.bin"))
                .withBackend(BackendKind.CPU);
    }
}
