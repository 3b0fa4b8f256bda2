package dev.loracle.runtime.cuda;

import dev.loracle.runtime.engine.Backend;
import dev.loracle.runtime.engine.BackendKind;
import dev.loracle.runtime.engine.BackendProvider;
import dev.loracle.runtime.engine.EngineConfig;
import dev.loracle.runtime.memory.MemoryBudget;

/**
 * Registers the CUDA backend with the engine through {@code META-INF/services}. The device is
 * {@code cuda:<n>} with n from system property {@code loracle.cuda.device} or env {@code LORACLE_CUDA_DEVICE} (default 0).
 */
public final class CudaBackendProvider implements BackendProvider {
    @Override public BackendKind kind() { return BackendKind.CUDA; }

    @Override
    public String unavailableReason() {
        CudaProbe.Result r = CudaProbe.probe();
        return r.available() ? null : r.reason();
    }

    @Override
    public Backend create(EngineConfig config, MemoryBudget budget) {
        CudaDevice device = CudaDevice.open(deviceOrdinal());
        try {
            return new CudaBackend(device, budget);
        } catch (RuntimeException | Error e) {
            device.close();
            throw e;
        }
    }

    static int deviceOrdinal() {
        String s = System.getProperty("loracle.cuda.device", System.getenv().getOrDefault("LORACLE_CUDA_DEVICE", "0"));
        try {
            int n = Integer.parseInt(s.trim());
            if (n < 0) throw new NumberFormatException();
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("loracle.cuda.device / LORACLE_CUDA_DEVICE must be a device number >= 0, got '" + s + "'");
        }
    }
}
