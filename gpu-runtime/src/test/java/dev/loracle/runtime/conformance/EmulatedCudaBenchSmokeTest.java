package dev.loracle.runtime.conformance;

import dev.loracle.runtime.cuda.CudaBackend;
import dev.loracle.runtime.cuda.CudaBenchSmokeTestSupport;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.memory.MemoryBudget;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The CUDA bench's per-shape path (engine decode at batch 1 and 64, distinct adapter sets, MERGED attach/detach,
 * attach/detach cycles with memory back to base) on a tiny random shape through the host emulation: the one GPU run
 * is then not the bench's first run. Figures here mean nothing; that the path completes and memory returns does.
 */
class EmulatedCudaBenchSmokeTest {
    @Test
    void benchPathCompletesOnATinyShape() throws Exception {
        String why = EmulatedCuda.unavailableReason();
        assumeTrue(why == null, () -> "CUDA emulation unavailable: " + why);
        Map<String, Object> f = CudaBenchSmokeTestSupport.runShape("64,128,1,4,2,512,64", "q8_0", 2, 3,
                (cfg, m) -> InferenceEngine.create(cfg, m, CudaBackend.onRuntime(new EmulatedCuda.Device(),
                        new EmulatedCuda.Launcher(), new MemoryBudget("cuda-emu:0", 4L << 30), "emulation"), null));
        String p = "64,128,1,4,2,512,64_q8_0_";
        assertFalse(f.keySet().stream().anyMatch(k -> k.endsWith("_error")), f.toString());
        assertTrue((Double) f.get(p + "decode_tok_s_aggregate_batch64_distinct_sets") > 0, f.toString());
        assertEquals(3, f.get(p + "attach_detach_cycles"), f.toString());
        assertEquals(true, f.get(p + "cycles_accounted_bytes_unchanged"), f.toString());
        assertEquals(true, f.get(p + "memory_back_to_base"), f.toString());
    }
}
