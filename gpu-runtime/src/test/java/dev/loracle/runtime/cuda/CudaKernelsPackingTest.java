package dev.loracle.runtime.cuda;

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
        CudaKernels k = new CudaKernels(rec);
        for (GgmlType t : List.of(GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0)) {
            k.matvec(t, p(0x1000), p(0x2000), p(0x3000), 64, 64, false);
            k.matmul(t, p(0x1000), p(0x2000), p(0x3000), 64, 64, 3, true);
            k.dequantize(t, p(0x1000), p(0x2000), 64);
            if (t != GgmlType.F32) k.quantize(t, p(0x1000), p(0x2000), 64);
        }
        k.rmsnorm(p(1), p(2), p(3), 64, 1, 1e-5f);
        k.rope(p(1), p(2), 5, 64, 32, 8, 10000f);
        k.kvStoreF32(p(1), p(2), p(3), p(4), 7, 32);
        k.kvStoreInt8(p(1), p(2), p(3), p(4), p(5), p(6), 7, 4, 8);
        k.attentionF32(p(1), p(2), p(3), p(4), p(5), 7, 512, 8, 4, 8);
        k.attentionInt8(p(1), p(2), p(3), p(4), p(5), p(6), p(7), 7, 512, 8, 4, 8);
        k.swiglu(p(1), p(2), 172);
        k.add(p(1), p(2), 64);
        k.argmax(p(1), 512, p(2));
        k.loraMergeAdd(p(1), p(2), p(3), 64, 64, 4, 0.5f);
        k.loraUpAdd(p(1), p(2), p(3), 64, 4, 0.5f);
        BatchKernels b = new BatchKernels(rec);
        for (GgmlType t : List.of(GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0)) {
            BatchKernels.Weights w = BatchKernels.Weights.of(t, p(0x1000), 64, 64);
            b.mm(w, p(0x2000), p(0x3000), 3, 64, true);
            b.mmSwiglu(w, p(0x2000), p(0x3000), 3);
            b.embed(w, p(0x4000), p(0x5000), 3);
            b.merge(w, w, p(1), p(2), 4);
        }
        for (boolean int8 : new boolean[] {false, true}) {
            b.ropeKvStore(int8, p(1), 96, 4, 2, 16, p(2), p(3), false, p(4), 8, 1024, p(5), p(6), 3);
            b.attention(int8, p(1), p(2), 96, p(3), 8, 1024, 32, 2, p(4), p(5), 4, 16, 3, 2);
        }
        b.attentionCombine(p(1), 64, p(2), p(3), 2, 4, 16, 3);
        b.rmsnormRows(p(1), p(2), p(3), 64, 1e-5f, 3, 1, 64);
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

    @Test
    void matrixKernelsRunOneWarpPerRow() {
        RecordingLauncher rec = new RecordingLauncher();
        new CudaKernels(rec).matvec(GgmlType.Q8_0, p(0), p(0), p(0), 1001, 256, false);
        LaunchConfig c = rec.launches.getFirst().config();
        assertEquals(32, c.blockX());
        assertEquals(CudaKernels.WARPS_PER_BLOCK, c.blockY());
        assertEquals((1001 + 3) / 4, c.gridX());
        List<KernelArgs.Arg> a = rec.launches.getFirst().args().args();
        assertEquals(1001, a.get(3).value());
        assertEquals(256, a.get(4).value());
        assertEquals(0, a.get(5).value());
        assertEquals(3 * 8 + 3 * 4, rec.launches.getFirst().args().packedBytes());
    }

    @Test
    void largeBatchesAreSplitWithShiftedActivationAndOutputPointers() {
        RecordingLauncher rec = new RecordingLauncher();
        new CudaKernels(rec).matmul(GgmlType.Q4_0, p(0x10000), p(0x20000), p(0x90000), 96, 64, 20, false);
        assertEquals(3, rec.launches.size());
        int[] batches = {8, 8, 4};
        for (int i = 0; i < 3; i++) {
            List<KernelArgs.Arg> a = rec.launches.get(i).args().args();
            assertEquals(p(0x10000), a.get(0).value(), "weights are shared by every launch");
            assertEquals(p(0x20000 + 4L * 8 * i * 64), a.get(1).value(), "X rows of launch " + i);
            assertEquals(p(0x90000 + 4L * 8 * i * 96), a.get(2).value(), "Y rows of launch " + i);
            assertEquals(batches[i], a.get(5).value());
        }
    }

    @Test
    void quantizeCountsBlocksAndMergeTilesTheMatrix() {
        RecordingLauncher rec = new RecordingLauncher();
        CudaKernels k = new CudaKernels(rec);
        k.quantize(GgmlType.Q8_0, p(0), p(0), 32 * 1000);
        assertEquals(1000L, rec.launches.getFirst().args().args().get(2).value());
        k.loraMergeAdd(p(0), p(0), p(0), 100, 33, 16, 1f);
        LaunchConfig c = rec.launches.get(1).config();
        assertEquals(3, c.gridX(), "ceil(33 / 16) column tiles");
        assertEquals(7, c.gridY(), "ceil(100 / 16) row tiles");
        assertEquals(256, c.threadsPerBlock());
    }

    @Test
    void badArgumentsAreRejectedBeforeAnyLaunch() {
        RecordingLauncher rec = new RecordingLauncher();
        CudaKernels k = new CudaKernels(rec);
        assertThrows(IllegalArgumentException.class, () -> k.matvec(GgmlType.Q8_0, p(0), p(0), p(0), 10, 172, false),
                "Q8_0 rows must be whole blocks");
        assertThrows(IllegalArgumentException.class, () -> k.matvec(GgmlType.Q4_1, p(0), p(0), p(0), 10, 64, false));
        assertThrows(IllegalArgumentException.class, () -> k.attentionF32(p(0), p(0), p(0), p(0), p(0), 512, 512, 8, 4, 8));
        assertThrows(IllegalArgumentException.class, () -> k.quantize(GgmlType.F32, p(0), p(0), 64));
        assertThrows(IllegalArgumentException.class, () -> k.matmul(GgmlType.F32, p(0), p(0), p(0), 4, 4, 0, false));
        assertTrue(rec.launches.isEmpty());
        IllegalArgumentException drift = assertThrows(IllegalArgumentException.class,
                () -> new KernelArgs().ptr(p(0)).i32(1).checkAgainst("add_f32", ptxParams().get("add_f32")));
        assertTrue(drift.getMessage().contains("add_f32"), drift.getMessage());
    }
}
