package dev.loracle.runtime.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.runtime.lora.LoraMath.WeightedTarget;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class LoraMathTest {

    /** Three adapters of different rank, scale and weight on one [out x in] tensor. */
    private static List<WeightedTarget> deltas(Random r, int out, int in) {
        List<WeightedTarget> list = new ArrayList<>();
        list.add(new WeightedTarget(LoraTestData.target(r, 0, ProjectionKind.Q, 4, in, out, 2f), 0.7f));
        list.add(new WeightedTarget(LoraTestData.target(r, 0, ProjectionKind.Q, 16, in, out, 0.5f), -1.3f));
        list.add(new WeightedTarget(LoraTestData.target(r, 0, ProjectionKind.Q, 1, in, out, 8f), 0.25f));
        return list;
    }

    private static void assertClose(double[] expected, float[] base, float[] actual, int k) {
        // Float accumulation over k terms: error bounded by ~k * eps * sum|terms|; with |terms| <= ~100 here.
        for (int i = 0; i < actual.length; i++) {
            double want = base[i] + expected[i];
            double tol = 1e-5 * (Math.abs(base[i]) + k * 50.0);
            if (Math.abs(actual[i] - want) > tol) {
                throw new AssertionError("element " + i + ": expected " + want + " got " + actual[i]);
            }
        }
    }

    @ParameterizedTest(name = "[{0} x {1}] threads={2}")
    @CsvSource({"64,64,1", "768,768,2", "67,45,3", "5,200,4", "130,97,2", "3,3,1", "256,33,8", "1,64,2"})
    void mergeIntoSegmentMatchesDoubleReference(int out, int in, int threads) {
        Random r = new Random(out * 31L + in);
        List<WeightedTarget> d = deltas(r, out, in);
        MemorySegment w = LoraTestData.randomSegment(r, (long) out * in, 0.1f);
        float[] base = w.toArray(LoraTarget.F32);
        LoraMath.addComposite(w, out, in, d, threads);
        assertClose(LoraTestData.referenceDelta(out, in, d), base, w.toArray(LoraTarget.F32), 21);
    }

    @ParameterizedTest(name = "[{0} x {1}] threads={2}")
    @CsvSource({"96,160,2", "67,45,1", "13,7,3"})
    void mergeIntoArraysAndHeapSegmentsMatchesReference(int out, int in, int threads) {
        Random r = new Random(7);
        List<WeightedTarget> d = deltas(r, out, in);
        float[] base = LoraTestData.randomSegment(r, (long) out * in, 0.1f).toArray(LoraTarget.F32);
        double[] ref = LoraTestData.referenceDelta(out, in, d);

        float[] w1 = base.clone();
        LoraMath.addComposite(w1, out, in, d, threads);
        assertClose(ref, base, w1, 21);

        float[] w2 = base.clone();
        LoraMath.addComposite(MemorySegment.ofArray(w2), out, in, d, threads);
        assertClose(ref, base, w2, 21);

        // a slice of a larger float[] (as an engine's reusable scratch buffer): only the slice changes
        float[] big = new float[out * in + 37];
        java.util.Arrays.fill(big, 5f);
        System.arraycopy(base, 0, big, 13, base.length);
        LoraMath.addComposite(MemorySegment.ofArray(big).asSlice(13L * 4, (long) out * in * 4), out, in, d, threads);
        assertClose(ref, base, java.util.Arrays.copyOfRange(big, 13, 13 + out * in), 21);
        for (int i = 0; i < 13; i++) {
            assertEquals(5f, big[i]);
        }
        for (int i = 13 + out * in; i < big.length; i++) {
            assertEquals(5f, big[i]);
        }

        byte[] bytes = new byte[out * in * 4];
        MemorySegment heapBytes = MemorySegment.ofArray(bytes);
        MemorySegment.copy(base, 0, heapBytes, LoraTarget.F32, 0, base.length);
        LoraMath.addComposite(heapBytes, out, in, d, threads);
        assertClose(ref, base, heapBytes.toArray(LoraTarget.F32), 21);
    }

    @Test
    void sameResultForAnyThreadCount() {
        Random r = new Random(3);
        int out = 300;
        int in = 520;
        List<WeightedTarget> d = deltas(r, out, in);
        float[] base = LoraTestData.randomSegment(r, (long) out * in, 0.1f).toArray(LoraTarget.F32);
        float[] one = base.clone();
        LoraMath.addComposite(one, out, in, d, 1);
        for (int threads : new int[] {2, 3, 7}) {
            float[] many = base.clone();
            LoraMath.addComposite(many, out, in, d, threads);
            assertEquals(java.util.Arrays.toString(one), java.util.Arrays.toString(many), "threads=" + threads);
        }
    }

    @ParameterizedTest
    @CsvSource({"300, 520, 32", "301, 96, 7", "64, 768, 8", "5, 40, 3"})
    void rowBlocksGiveExactlyTheWholeTensorResult(int out, int in, int block) {
        Random r = new Random(out + in);
        List<WeightedTarget> d = deltas(r, out, in);
        float[] base = LoraTestData.randomSegment(r, (long) out * in, 0.1f).toArray(LoraTarget.F32);
        float[] whole = base.clone();
        LoraMath.addComposite(whole, out, in, d, 1);
        LoraMath.RowMerger merger = LoraMath.rowMerger(out, in, d);
        float[] blocks = base.clone();
        float[] buf = new float[block * in + 3];
        for (int r0 = 0; r0 < out; r0 += block) {
            int r1 = Math.min(out, r0 + block);
            System.arraycopy(blocks, r0 * in, buf, 3, (r1 - r0) * in);
            merger.addRows(buf, 3, r0, r1);
            System.arraycopy(buf, 3, blocks, r0 * in, (r1 - r0) * in);
        }
        for (int i = 0; i < whole.length; i++) {
            assertEquals(Float.floatToRawIntBits(whole[i]), Float.floatToRawIntBits(blocks[i]), "element " + i);
        }
        assertEquals(null, LoraMath.rowMerger(out, in, List.of(new WeightedTarget(d.get(0).target(), 0f))));
        assertThrows(IllegalArgumentException.class, () -> merger.addRows(buf, 3, 0, block + 1));
        assertThrows(IllegalArgumentException.class, () -> merger.addRows(buf, 0, out - 1, out + 1));
    }

    @Test
    void zeroWeightOrEmptyListLeavesWUnchangedAndNegationRestoresIt() {
        Random r = new Random(11);
        int out = 40;
        int in = 72;
        LoraTarget t = LoraTestData.target(r, 0, ProjectionKind.V, 8, in, out, 1f);
        float[] base = LoraTestData.randomSegment(r, (long) out * in, 0.1f).toArray(LoraTarget.F32);
        float[] w = base.clone();
        LoraMath.addComposite(w, out, in, List.of(new WeightedTarget(t, 0f)));
        LoraMath.addComposite(w, out, in, List.of());
        assertEquals(java.util.Arrays.toString(base), java.util.Arrays.toString(w));
        LoraMath.addComposite(w, out, in, List.of(new WeightedTarget(t, 1f)));
        boolean changed = false;
        for (int i = 0; i < w.length; i++) {
            changed |= w[i] != base[i];
        }
        assertTrue(changed);
    }

    @Test
    void rejectsMismatchedShapesAndBadArguments() {
        Random r = new Random(5);
        LoraTarget t = LoraTestData.target(r, 2, ProjectionKind.K, 4, 32, 16, 1f);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LoraMath.addComposite(new float[32 * 32], 32, 32, List.of(new WeightedTarget(t, 1f))));
        assertTrue(e.getMessage().contains("[16 x 32] but W is [32 x 32]"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> LoraMath.addComposite(new float[10], 16, 32, List.of(new WeightedTarget(t, 1f))));
        assertThrows(IllegalArgumentException.class, () -> LoraMath.addComposite(
                Arena.ofAuto().allocate(16), 16, 32, List.of(new WeightedTarget(t, 1f))));
        assertThrows(IllegalArgumentException.class, () -> new WeightedTarget(t, Float.NaN));
        MemorySegment readOnly = Arena.ofAuto().allocate(16 * 32 * 4).asReadOnly();
        IllegalArgumentException ro = assertThrows(IllegalArgumentException.class,
                () -> LoraMath.addComposite(readOnly, 16, 32, List.of(new WeightedTarget(t, 1f))));
        assertTrue(ro.getMessage().contains("read-only"), ro.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> LoraMath.addComposite(new float[16 * 32], 16, 32, List.of(new WeightedTarget(t, 1f)), 0));
    }
}
