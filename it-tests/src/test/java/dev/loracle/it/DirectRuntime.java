package dev.loracle.it;

import dev.loracle.contracts.NumericProfile;
import dev.loracle.oracle.devstack.ExampleAdapters;
import dev.loracle.runtime.engine.AttachMode;
import dev.loracle.runtime.engine.BackendKind;
import dev.loracle.runtime.engine.EngineConfig;
import dev.loracle.runtime.engine.GenerationRequest;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.lora.PeftAdapter;
import dev.loracle.runtime.lora.WeightedAdapter;
import java.nio.file.Path;
import java.util.List;

/** Runs the runtime directly (no oracle) with the same inputs, for the greedy "same text" check. */
final class DirectRuntime {
    private DirectRuntime() {}

    /** Greedy text of stories260K with the adapters at their request weights (1e4 = 1.0), in the dev profile's attach mode (what the nodes run). */
    static String greedy(List<ExampleAdapters.Published> adapters, String prompt, int maxTokens) {
        Path models = ItPaths.modelsDir();
        EngineConfig config = EngineConfig.of(models.resolve("llama2c/stories260K.bin"))
                .withTokenizer(models.resolve("llama2c/tok512.bin")).withBackend(BackendKind.CPU).withThreads(1);
        try (InferenceEngine engine = InferenceEngine.open(config)) {
            List<WeightedAdapter> weighted = adapters.stream()
                    .map(a -> new WeightedAdapter(PeftAdapter.load(a.directory(), engine.adapterLoadOptions()
                            .withId(a.cid().toString())), a.weight() / 10_000f))
                    .toList();
            return engine.generate(weighted, AttachMode.valueOf(NumericProfile.DEV_DEFAULT.attach()),
                    new GenerationRequest(prompt, maxTokens, 0f, 1f, 0L), null).text();
        }
    }
}
