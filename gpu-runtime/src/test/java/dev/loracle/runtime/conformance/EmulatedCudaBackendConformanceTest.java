package dev.loracle.runtime.conformance;

import dev.loracle.runtime.cuda.CudaBackend;
import dev.loracle.runtime.engine.Backend;
import dev.loracle.runtime.memory.MemoryBudget;

import java.util.OptionalLong;

/**
 * The conformance suite on the CUDA backend's own code (CudaBackend, CudaModel, CudaKernels, the .cu kernel sources)
 * running on the HOST EMULATION of the kernels (see {@link EmulatedCuda}): no GPU, no driver, no PTX JIT. It is the
 * check this machine can make of the kernels' arithmetic and of the model orchestration; the GPU run is
 * {@link CudaBackendConformanceTest}. Skipped, with the reason, where g++ cannot build the emulation.
 */
class EmulatedCudaBackendConformanceTest extends BackendConformanceTest {
    @Override protected String unavailableReason() { return EmulatedCuda.unavailableReason(); }

    @Override protected String deviceName() { return "cuda-emu:0"; }

    @Override
    protected Backend newBackend(MemoryBudget budget) {
        return EmulatedCuda.backend(budget);
    }

    @Override
    protected KernelOps newKernelOps() {
        return new CudaKernelOps(new EmulatedCuda.Device(), new EmulatedCuda.Launcher(), null);
    }

    /**
     * 100 instead of 1000: each emulated MERGED attach runs its kernels thread by thread on the CPU (about 0.1 s);
     * the accounting that the cycles check is the same code at any count, and the GPU and CPU runs do 1000.
     */
    @Override protected int attachDetachCycles() { return 100; }

    /** Bookkeeping of the emulated allocations (malloc/free), standing in for cuMemGetInfo. */
    @Override
    protected OptionalLong deviceFreeBytes(Backend b) {
        return OptionalLong.of(((CudaBackend) b).deviceMemoryInfo()[0]);
    }
}
