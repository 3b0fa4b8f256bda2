package dev.loracle.runtime.cuda;

import dev.loracle.runtime.engine.KvCacheType;
import dev.loracle.runtime.tensor.GgmlType;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Host-side check of kernel launches (no GPU): every typed launcher packs exactly the parameters its PTX entry
 * declares, in order and width, and picks the documented launch shape. A launcher that drifts from its kernel would
 * pass garbage on a GPU; here it fails.
 */
class CudaKernelsPackingTest {
    record Launch(String kernel, LaunchConfig config, KernelArgs args) {}

    static final class RecordingLauncher implements KernelLauncher {
        final List<Launch> launches = new ArrayList<>();

        @Override
        public void launch(String kernel, LaunchConfig config, KernelArgs args) {
            launches.add(new Launch(kernel, config, args));
        }
    }

    static Map<String, List<PtxModule.ParamType>> ptxParams() {
        Map<String, List<PtxModule.ParamType>> m = new HashMap<>();
        for (PtxModule p : PtxModule.loadAll()) m.putAll(p.entries());
        return m;
    }

    static DevicePtr p(long a) { return new FakeDevicePtr(a); }

    @Test
    void everyLauncherMatchesItsPtxSignature() {
        RecordingLauncher rec = new RecordingLauncher();
        BatchKernels b = new BatchKernels(rec);
        for (GgmlType t : List.of(GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0)) {
            BatchKernels.Weights w = BatchKernels.Weights.of(t, p(0x1000), 64, 64);
            b.mm(w, p(0x2000), p(0x3000), 3, 64, true);
            b.mmSwiglu(w, p(0x2000), p(0x3000), 3);
            b.embed(w, p(0x4000), p(0x5000), 3);
            b.merge(w, w, p(1), p(2), 4);
        }
        for (KvCacheType kv : KvCacheType.values()) {
            b.ropeKvStore(kv, p(1), 96, 4, 2, 16, p(2), p(3), false, p(4), 8, 1024, p(5), p(6), 3);
            b.attention(kv, p(1), p(2), 96, p(3), 8, 1024, 32, 2, p(4), p(5), 4, 16, 3, 2);
        }
        b.attentionCombine(p(1), 64, p(2), p(3), 2, 4, 16, 3);
        b.rmsnormRows(p(1), p(2), p(3), 64, 1e-5f, 3, 1, 64);
        b.add(p(1), p(2), 64);
        b.copyWords(p(1), p(2), 1000, 4);
        b.swigluRows(p(1), p(2), 64, 3);
        b.addBiasRows(p(1), p(2), 64, 96, 3);
        b.gatherRows(p(1), p(2), p(3), 64, 2);
        b.argmaxRows(p(1), 512, 2, p(2));
        b.loraShrink(p(1), 32, p(2), 64, p(3), p(4), p(5), 32, 2);
        b.loraExpand(p(1), 64, p(2), 32, 64, p(3), p(4), p(5), p(6), 2);

        Map<String, List<PtxModule.ParamType>> ptx = ptxParams();
        Set<String> launched = new TreeSet<>();
        for (Launch l : rec.launches) {
            List<PtxModule.ParamType> want = ptx.get(l.kernel());
            assertTrue(want != null, "launcher names kernel " + l.kernel() + " which no PTX module defines");
            l.args().checkAgainst(l.kernel(), want);
            launched.add(l.kernel());
        }
        assertEquals(new TreeSet<>(ptx.keySet()), launched, "every kernel in the PTX has a launcher");
    }

    /** One block per output row whatever the batch: the reduction of a row never depends on n. */
    @Test
    void matmulRunsOneBlockPerRowForEveryBatchSize() {
        RecordingLauncher rec = new RecordingLauncher();
        BatchKernels b = new BatchKernels(rec);
        BatchKernels.Weights w = BatchKernels.Weights.of(GgmlType.Q8_0, p(0x10000), 1001, 256);
        for (int n : new int[] {1, 7, 64, 256}) b.mm(w, p(0x20000), p(0x90000), n, 1001, false);
        for (Launch l : rec.launches) {
            assertEquals(1001, l.config().gridX());
            assertEquals(32, l.config().threadsPerBlock(), "16 chunks of 16 quants: one warp, whatever n");
        }
        assertEquals(128, BatchKernels.rowThreads(GgmlType.Q8_0, 2048), "128 chunks: four warps");
        assertEquals(64, BatchKernels.rowThreads(GgmlType.Q4_0, 2048), "64 blocks of 32: two warps");
        assertEquals(128, BatchKernels.rowThreads(GgmlType.F32, 5632));
        assertEquals(p(0x10000 + 1001L * 256), rec.launches.getFirst().args().args().get(1).value(), "scales follow the quants");
    }

    @Test
    void rowSlicesOffsetQuantsAndScalesTogether() {
        BatchKernels.Weights w = BatchKernels.Weights.of(GgmlType.Q4_0, p(0), 96, 64);
        BatchKernels.Weights s = w.rows(32, 16);
        assertEquals(p(32L * 32), s.data(), "Q4_0 rows are cols/2 quant bytes");
        assertEquals(p(96L * 32 + 2L * 32 * 2), s.scales(), "two fp16 scales per row of 64");
        assertThrows(IllegalArgumentException.class, () -> w.rows(90, 16));
    }

    @Test
    void badArgumentsAreRejectedBeforeAnyLaunch() {
        RecordingLauncher rec = new RecordingLauncher();
        BatchKernels b = new BatchKernels(rec);
        assertThrows(IllegalArgumentException.class, () -> BatchKernels.Weights.of(GgmlType.Q8_0, p(0), 10, 172),
                "Q8_0 rows must be whole blocks");
        assertThrows(IllegalArgumentException.class, () -> BatchKernels.Weights.of(GgmlType.Q4_1, p(0), 10, 64));
        BatchKernels.Weights w = BatchKernels.Weights.of(GgmlType.F32, p(0), 4, 4);
        assertThrows(IllegalArgumentException.class, () -> b.mm(w, p(0), p(0), 0, 4, false));
        assertThrows(IllegalArgumentException.class,
                () -> b.attention(KvCacheType.F32, p(0), p(0), 8, p(0), 1, 0, 8, 3, p(0), p(0), 8, 1, 1, 1));
        assertTrue(rec.launches.isEmpty());
        IllegalArgumentException drift = assertThrows(IllegalArgumentException.class,
                () -> new KernelArgs().ptr(p(0)).i32(1).checkAgainst("add_f32", ptxParams().get("add_f32")));
        assertTrue(drift.getMessage().contains("add_f32"), drift.getMessage());
    }
}
