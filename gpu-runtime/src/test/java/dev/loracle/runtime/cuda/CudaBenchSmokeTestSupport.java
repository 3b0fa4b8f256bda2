package dev.loracle.runtime.cuda;

import dev.loracle.runtime.engine.EngineConfig;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.model.LoadedModel;

import java.util.Map;
import java.util.function.BiFunction;

/** Opens {@link CudaBench}'s per-shape path to tests (on the host emulation), so the GPU run is not its first run. */
public final class CudaBenchSmokeTestSupport {
    private CudaBenchSmokeTestSupport() {}

    public static Map<String, Object> runShape(String shape, String quant, int decode, int cycles,
                                               BiFunction<EngineConfig, LoadedModel, InferenceEngine> engines) throws Exception {
        CudaBench b = new CudaBench(decode, engines);
        b.shape(shape, quant, cycles, 30);
        return b.figures();
    }
}
