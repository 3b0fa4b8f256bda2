package dev.loracle.runtime.conformance;

import dev.loracle.runtime.engine.Backend;
import dev.loracle.runtime.engine.CpuBackend;
import dev.loracle.runtime.memory.MemoryBudget;
import dev.loracle.runtime.tensor.MatVec;

/** The conformance suite on the CPU backend (always runs). */
class CpuBackendConformanceTest extends BackendConformanceTest {
    @Override protected String unavailableReason() { return null; }

    @Override protected String deviceName() { return "cpu"; }

    @Override
    protected Backend newBackend(MemoryBudget budget) {
        return new CpuBackend(2, MatVec.DotMode.FLOAT, budget);
    }

    @Override protected KernelOps newKernelOps() { return new CpuKernelOps(); }

    @Override protected boolean isCpuReference() { return true; }
}
