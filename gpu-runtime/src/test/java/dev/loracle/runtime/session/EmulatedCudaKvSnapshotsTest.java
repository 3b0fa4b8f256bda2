package dev.loracle.runtime.session;

import dev.loracle.runtime.conformance.EmulatedCuda;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.engine.KvCacheType;
import dev.loracle.runtime.memory.MemoryBudget;
import dev.loracle.runtime.model.LoadedModel;
import dev.loracle.runtime.model.ModelLoader;
import dev.loracle.runtime.model.TestModels;
import dev.loracle.runtime.model.WeightFormat;
import java.lang.foreign.Arena;

/** {@link CudaKvSnapshotsTest} on the CUDA backend's code running on the HOST EMULATION of its kernels (no GPU). */
class EmulatedCudaKvSnapshotsTest extends CudaKvSnapshotsTest {
    @Override
    String unavailableReason() {
        String why = EmulatedCuda.unavailableReason();
        return why == null ? null : "CUDA emulation unavailable: " + why;
    }

    @Override
    InferenceEngine engine(KvCacheType kv) {
        Arena arena = Arena.ofShared();
        LoadedModel m = ModelLoader.load(TestModels.ggufQ8(), null, WeightFormat.AS_FILE, arena);
        return InferenceEngine.create(config(kv), m, EmulatedCuda.backend(new MemoryBudget("cuda-emu:0", 4L << 30)), arena);
    }
}
