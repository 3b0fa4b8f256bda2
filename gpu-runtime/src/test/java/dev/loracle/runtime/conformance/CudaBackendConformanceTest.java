package dev.loracle.runtime.conformance;

import dev.loracle.runtime.cuda.CudaBackend;
import dev.loracle.runtime.cuda.CudaDevice;
import dev.loracle.runtime.cuda.CudaProbe;
import dev.loracle.runtime.engine.Backend;
import dev.loracle.runtime.memory.MemoryBudget;

import java.util.OptionalLong;

/**
 * The conformance suite on the CUDA backend. Without a usable device (no libcuda.so.1, no GPU, driver too old) every
 * test is skipped with the probe's reason; run it on a GPU with gpu-runtime/bin/gpu-check.
 */
class CudaBackendConformanceTest extends BackendConformanceTest {
    @Override
    protected String unavailableReason() {
        CudaProbe.Result r = CudaProbe.probe();
        return r.available() ? null : r.reason();
    }

    @Override protected String deviceName() { return "cuda:0"; }

    @Override
    protected Backend newBackend(MemoryBudget budget) {
        return new CudaBackend(CudaDevice.open(0), budget);
    }

    @Override protected KernelOps newKernelOps() { return CudaKernelOps.onGpu(); }

    @Override
    protected OptionalLong deviceFreeBytes(Backend b) {
        return OptionalLong.of(((CudaBackend) b).deviceMemoryInfo()[0]);
    }
}
