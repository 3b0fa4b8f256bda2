package dev.loracle.runtime.conformance;

import dev.loracle.runtime.engine.AttachMode;
import dev.loracle.runtime.engine.Backend;
import dev.loracle.runtime.engine.CpuBackend;
import dev.loracle.runtime.engine.AdapterBinding;
import dev.loracle.runtime.engine.DeviceAdapter;
import dev.loracle.runtime.engine.StepHarness;
import dev.loracle.runtime.engine.KvCacheType;
import dev.loracle.runtime.engine.TensorId;
import dev.loracle.runtime.engine.WeightOverlay;
import dev.loracle.runtime.lora.LoraMath.WeightedTarget;
import dev.loracle.runtime.lora.ProjectionKind;
import dev.loracle.runtime.memory.MemoryBudget;
import dev.loracle.runtime.memory.MemoryCategory;
import dev.loracle.runtime.memory.MemorySnapshot;
import dev.loracle.runtime.memory.RedLineExceededException;
import dev.loracle.runtime.model.LlamaWeights;
import dev.loracle.runtime.model.LoadedModel;
import dev.loracle.runtime.model.ModelLoader;
import dev.loracle.runtime.model.TestModels;
import dev.loracle.runtime.model.WeightFormat;
import dev.loracle.runtime.tensor.GgmlType;
import dev.loracle.runtime.tensor.MatVec;
import dev.loracle.runtime.tensor.QuantizedTensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Random;

import static dev.loracle.runtime.conformance.ConformanceFixtures.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * One conformance suite for every backend. Per-op results are checked against {@link ReferenceOps} (double-precision
 * scalar code written independently of the engine) with these tolerances:
 * <ul>
 * <li>matvec / small-batch matmul (F32, F16, Q8_0, Q4_0): |y - ref| <= 1e-4 * sum_i |W_ri x_i| + 1e-6 per row;</li>
 * <li>RMSNorm, RoPE, SwiGLU, low-rank add, attention over an F32 cache: max |err| <= 1e-5 * max(1, max |ref|);
 *     attention over an INT8 cache: the reference quantizes the cache the same way, max |err| <= 1e-4 * max(1, max |ref|);
 *     over an F16 cache: the reference rounds k, v, q and the probabilities to half, max |err| <= 6e-4 * max(1, max |ref|)
 *     (one half-precision rounding of each weight, 2^-11, may fall on the other side);</li>
 * <li>quantize (F16, Q8_0, Q4_0): byte-for-byte llama.cpp's reference rounding; dequantize: exact;</li>
 * <li>argmax: exact, lowest index on ties;</li>
 * <li>MERGED working copy: F32 within 1e-5 * max; quantized: every element within one quantization step of the
 *     reference requantization of the double-precision merge, and at most 2% of the quants differ at all.</li>
 * </ul>
 * Model level, through the Backend seam on stories260K: greedy text equals the llama2.c golden text (F32 .bin and
 * Q8_0 GGUF), and for non-CPU backends equals the CPU backend's tokens; MERGED and UNMERGED logits match a model
 * whose weights were merged by the reference (F32: 1e-3, Q8_0: 1e-2 of the largest logit); 1000 attach/detach
 * cycles leave accounted memory, driver-reported free memory and every base tensor's sha256 unchanged; the red line fails fast.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class BackendConformanceTest {
    /** Null when this backend can run here, else why not (then every test of the class is skipped with it). */
    protected abstract String unavailableReason();

    protected abstract String deviceName();

    protected abstract Backend newBackend(MemoryBudget budget);

    protected abstract KernelOps newKernelOps();

    /** Free device memory as the driver reports it, where the backend has a driver. */
    protected OptionalLong deviceFreeBytes(Backend b) { return OptionalLong.empty(); }

    /** Attach/detach cycles of the memory test: 1000 (the figure) unless a slow emulation says otherwise. */
    protected int attachDetachCycles() { return 1000; }

    /** True for the CPU backend, which IS the reference: comparing it with itself proves nothing, so those checks skip. */
    protected boolean isCpuReference() { return false; }

    static final int GREEDY_STEPS = 40;

    private Arena arena;
    private LoadedModel f32Model;
    private LoadedModel q8Model;
    private int[] prompt;
    private String golden;
    private KernelOps ops;

    private String skipReason;

    @BeforeAll
    void setUp() throws Exception {
        skipReason = unavailableReason();
        if (skipReason != null) {
            System.err.println("[conformance] " + getClass().getSimpleName() + " SKIPPED on this machine: " + skipReason);
            return;
        }
        arena = Arena.ofShared();
        f32Model = ModelLoader.load(TestModels.stories260kBin(), TestModels.tok512(), WeightFormat.AS_FILE, arena);
        q8Model = ModelLoader.load(TestModels.ggufQ8(), null, WeightFormat.AS_FILE, arena);
        prompt = f32Model.tokenizer().encode("Once upon a time", true, false);
        golden = goldenText(TestModels.dir());
        ops = newKernelOps();
    }

    /** Per test, so that every test of an unavailable backend is reported as skipped, with the reason. */
    @BeforeEach
    void requireBackend() {
        assumeTrue(skipReason == null, () -> deviceName() + " backend conformance skipped: " + skipReason);
    }

    @AfterAll
    void tearDown() {
        if (ops != null) ops.close();
        if (arena != null) arena.close();
    }

    private Backend loaded(LlamaWeights w) {
        Backend b = newBackend(new MemoryBudget(deviceName(), 4L << 30));
        b.loadBase(w);
        return b;
    }

    private static Backend cpuReference(LlamaWeights w) {
        Backend b = new CpuBackend(2, MatVec.DotMode.FLOAT, new MemoryBudget("cpu", 4L << 30));
        b.loadBase(w);
        return b;
    }

    // ------------------------------------------------------------------------------------------------ per op

    @Test
    void matvecMatchesReferenceForEveryWeightType() {
        Random r = new Random(1);
        for (GgmlType t : List.of(GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0)) {
            for (int[] shape : new int[][] {{67, 256}, {5, 32}, {130, 1024}}) {
                QuantizedTensor w = randomTensor(arena, r, t, shape[0], shape[1]);
                float[] x = randomFloats(r, shape[1], 1f);
                checkMatvec(t + " " + shape[0] + "x" + shape[1], w, x, ops.matvec(w, x));
            }
        }
        QuantizedTensor odd = randomTensor(arena, r, GgmlType.F32, 64, 172);   // stories260K's ffn_down row length
        float[] x = randomFloats(r, 172, 1f);
        checkMatvec("F32 64x172", odd, x, ops.matvec(odd, x));
    }

    @Test
    void smallBatchMatmulMatchesReference() {
        Random r = new Random(2);
        for (GgmlType t : List.of(GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0)) {
            QuantizedTensor w = randomTensor(arena, r, t, 45, 128);
            float[][] xs = new float[11][];   // 11 = one full launch of 8 plus a partial one of 3
            for (int i = 0; i < xs.length; i++) xs[i] = randomFloats(r, 128, 1f);
            float[][] ys = ops.matmul(w, xs);
            for (int i = 0; i < xs.length; i++) checkMatvec(t + " batch row " + i, w, xs[i], ys[i]);
        }
    }

    private static void checkMatvec(String what, QuantizedTensor w, float[] x, float[] got) {
        double[] ref = ReferenceOps.matvec(w.type(), w.data(), (int) w.rows(), (int) w.cols(), x);
        double[] abs = ReferenceOps.matvecAbs(w.type(), w.data(), (int) w.rows(), (int) w.cols(), x);
        assertEquals(ref.length, got.length, what);
        for (int i = 0; i < ref.length; i++) {
            double tol = 1e-4 * abs[i] + 1e-6;
            assertTrue(Math.abs(got[i] - ref[i]) <= tol, what + " row " + i + ": got " + got[i] + ", reference " + ref[i]);
        }
    }

    @Test
    void rmsnormMatchesReference() {
        Random r = new Random(3);
        float[] x = randomFloats(r, 768, 3f), w = randomFloats(r, 768, 1f);
        float[] got = ops.rmsnorm(x, w, 1e-5f);
        assumeTrue(got != null, "this backend runs RMSNorm only inside forward(); the golden generation tests cover it");
        double[] ref = ReferenceOps.rmsnorm(x, w, 1e-5f);
        assertTrue(maxDiff(got, ref) <= 1e-5 * Math.max(1, maxAbs(ref)), "rmsnorm max error " + maxDiff(got, ref));
    }

    @Test
    void ropeMatchesReferenceWithLlama2cPairing() {
        Random r = new Random(4);
        for (int pos : new int[] {0, 1, 17, 511}) {
            float[] q = randomFloats(r, 64, 1f), k = randomFloats(r, 32, 1f);
            float[][] got = ops.rope(q, k, pos, 8, 10000f);
            assumeTrue(got != null, "this backend runs RoPE only inside forward(); the golden generation tests cover it");
            double[] rq = ReferenceOps.rope(q, pos, 8, 10000f), rk = ReferenceOps.rope(k, pos, 8, 10000f);
            assertTrue(maxDiff(got[0], rq) <= 1e-5 * Math.max(1, maxAbs(rq)), "rope q at pos " + pos);
            assertTrue(maxDiff(got[1], rk) <= 1e-5 * Math.max(1, maxAbs(rk)), "rope k at pos " + pos);
        }
    }

    @Test
    void attentionMatchesReferenceOverEachKvCacheType() {
        Random r = new Random(5);
        int nHeads = 8, nKv = 4, hs = 16;
        for (int span : new int[] {1, 7, 300}) {
            float[] q = randomFloats(r, nHeads * hs, 1f);
            float[][] keys = new float[span][], values = new float[span][];
            for (int t = 0; t < span; t++) {
                keys[t] = randomFloats(r, nKv * hs, 1f);
                values[t] = randomFloats(r, nKv * hs, 1f);
            }
            for (KvCacheType kv : KvCacheType.values()) {
                float[] got = ops.attention(q, keys, values, nHeads, nKv, hs, kv);
                assumeTrue(got != null, "this backend runs attention only inside forward(); the golden generation tests cover it");
                double[] ref = ReferenceOps.attention(q, keys, values, nHeads, nKv, hs, kv);
                double tol = switch (kv) {
                    case F32 -> 1e-5;
                    case INT8 -> 1e-4;
                    // the backend may round the chunk's unnormalised weights instead of the probabilities: each weight
                    // then differs by up to one half ulp (2^-11 relative) from the reference's, so the output by up to
                    // 2^-11 of max |v| (|v| <= 1 here), plus the F32 terms
                    case F16 -> 6e-4;
                } * Math.max(1, maxAbs(ref));
                assertTrue(maxDiff(got, ref) <= tol, "attention span " + span + " " + kv + " max error " + maxDiff(got, ref));
            }
        }
    }

    @Test
    void swigluMatchesReference() {
        Random r = new Random(6);
        float[] g = randomFloats(r, 2048, 6f), u = randomFloats(r, 2048, 2f);
        float[] got = ops.swiglu(g, u);
        assumeTrue(got != null, "this backend runs SwiGLU only inside forward(); the golden generation tests cover it");
        double[] ref = ReferenceOps.swiglu(g, u);
        assertTrue(maxDiff(got, ref) <= 1e-5 * Math.max(1, maxAbs(ref)), "swiglu max error " + maxDiff(got, ref));
    }

    @Test
    void argmaxIsExactWithLowestIndexOnTies() {
        Random r = new Random(7);
        float[] x = randomFloats(r, 32000, 10f);
        x[12345] = 50f;
        assertEquals(12345, ops.argmax(x));
        x[777] = 50f;
        assertEquals(777, ops.argmax(x), "ties go to the lowest index, as a sequential scan does");
        float[] small = {-3f, -1f, -2f};
        assertEquals(1, ops.argmax(small));
    }

    @Test
    void quantizeIsByteExactWithLlamaCppAndDequantizeIsExact() {
        Random r = new Random(8);
        float[] x = randomFloats(r, 32 * 64, 2f);
        Arrays.fill(x, 0, 32, 0f);                      // an all-zero block (d = 0)
        for (int j = 32; j < 64; j++) x[j] = (j - 48) * 0.5f;   // values on rounding boundaries
        x[64] = -7.9f;                                  // Q4_0: a negative extreme
        for (GgmlType t : List.of(GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0)) {
            byte[] want = ReferenceOps.encode(t, x);
            byte[] got = ops.quantize(t, x);
            assumeTrue(got != null, "this backend has no separate quantize kernel (its merge test covers the rounding)");
            assertArrayEquals(want, got, t + " encoding differs from llama.cpp's reference rounding");
            float[] back = ops.dequantize(t, want, x.length);
            double[] ref = ReferenceOps.decode(t, MemorySegment.ofArray(want), 0, x.length);
            for (int i = 0; i < x.length; i++) assertEquals((float) ref[i], back[i], 0f, t + " dequantize element " + i);
        }
    }

    @Test
    void mergedWorkingCopyMatchesReference() {
        Random r = new Random(9);
        for (GgmlType t : List.of(GgmlType.F32, GgmlType.Q8_0, GgmlType.Q4_0)) {
            int rows = 96, cols = t == GgmlType.F32 ? 172 : 128;
            QuantizedTensor base = randomTensor(arena, r, t, rows, cols);
            List<WeightedTarget> deltas = List.of(
                    new WeightedTarget(randomTarget(arena, r, 0, ProjectionKind.Q, 4, cols, rows, 2f, 0.3f), 0.7f),
                    new WeightedTarget(randomTarget(arena, r, 0, ProjectionKind.Q, 20, cols, rows, 0.5f, 0.2f), -0.3f));
            byte[] got = ops.merge(base, deltas);
            float[] refF32 = ReferenceOps.mergedF32(t, base.data(), rows, cols, deltas);
            if (t == GgmlType.F32) {
                float[] g = MemorySegment.ofArray(got).toArray(ValueLayout.JAVA_FLOAT_UNALIGNED);
                assertTrue(maxDiff(g, refF32) <= 1e-5 * maxAbs(refF32), "F32 merge max error " + maxDiff(g, refF32));
                continue;
            }
            byte[] want = ReferenceOps.encode(t, refF32);
            double[] g = ReferenceOps.decode(t, MemorySegment.ofArray(got), 0, rows * cols);
            double[] w = ReferenceOps.decode(t, MemorySegment.ofArray(want), 0, rows * cols);
            int differing = 0;
            for (int b = 0; b < rows * cols / 32; b++) {
                double step = 0;
                for (int j = 0; j < 32; j++) step = Math.max(step, Math.abs(w[b * 32 + j]));
                step = step / (t == GgmlType.Q8_0 ? 127 : 8);
                for (int j = 0; j < 32; j++) {
                    double d = Math.abs(g[b * 32 + j] - w[b * 32 + j]);
                    if (d > 0) differing++;
                    assertTrue(d <= 1.01 * step + 1e-7, t + " block " + b + " element " + j + " differs by " + d
                            + " (step " + step + ")");
                }
            }
            assertTrue(differing <= rows * cols / 50, t + ": " + differing + " of " + rows * cols
                    + " merged values differ from the reference requantization");
        }
    }

    @Test
    void lowRankAddMatchesReference() {
        Random r = new Random(10);
        float[] x = randomFloats(r, 128, 1f), y = randomFloats(r, 96, 1f);
        List<WeightedTarget> deltas = List.of(
                new WeightedTarget(randomTarget(arena, r, 0, ProjectionKind.V, 4, 128, 96, 2f, 0.3f), 0.7f),
                new WeightedTarget(randomTarget(arena, r, 0, ProjectionKind.V, 16, 128, 96, 1f, 0.2f), -0.4f));
        float[] got = ops.lowRankAdd(x, y, deltas);
        double[] ref = ReferenceOps.lowRankAdd(x, y, deltas);
        assertTrue(maxDiff(got, ref) <= 1e-5 * Math.max(1, maxAbs(ref)), "low-rank max error " + maxDiff(got, ref));
    }

    /** Batch invariance of the batched matmul: a row alone gives the same bits as inside a batch of 11 (two tiles). */
    @Test
    void batchedMatmulIsBatchInvariant() {
        Random r = new Random(21);
        for (GgmlType t : List.of(GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0)) {
            QuantizedTensor w = randomTensor(arena, r, t, 37, 256);
            float[][] xs = new float[11][];
            for (int i = 0; i < xs.length; i++) xs[i] = randomFloats(r, 256, 1f);
            float[][] ys = ops.matmul(w, xs);
            for (int i : new int[] {0, 7, 8, 10}) {
                assertArrayEquals(ys[i], ops.matmul(w, new float[][] {xs[i]})[0], t + " row " + i + " alone vs in a batch of 11");
            }
        }
    }

    @Test
    void fusedGateUpSwigluMatchesReferenceAndIsBatchInvariant() {
        Random r = new Random(22);
        for (GgmlType t : List.of(GgmlType.F32, GgmlType.Q8_0, GgmlType.Q4_0)) {
            int hidden = 40, cols = 128;
            QuantizedTensor gateUp = randomTensor(arena, r, t, 2 * hidden, cols);
            float[][] xs = new float[9][];
            for (int i = 0; i < xs.length; i++) xs[i] = randomFloats(r, cols, 1f);
            float[][] got = ops.gateUpSwiglu(gateUp, xs);
            assumeTrue(got != null, "this backend has no fused gate/up kernel");
            for (int i = 0; i < xs.length; i++) {
                double[] gu = ReferenceOps.matvec(t, gateUp.data(), 2 * hidden, cols, xs[i]);
                float[] g = new float[hidden], u = new float[hidden];
                for (int j = 0; j < hidden; j++) { g[j] = (float) gu[j]; u[j] = (float) gu[hidden + j]; }
                double[] ref = ReferenceOps.swiglu(g, u);
                assertTrue(maxDiff(got[i], ref) <= 1e-4 * Math.max(1, maxAbs(ref)), t + " row " + i + " max error " + maxDiff(got[i], ref));
            }
            assertArrayEquals(got[8], ops.gateUpSwiglu(gateUp, new float[][] {xs[8]})[0], t + " row 8 alone vs in the batch");
        }
    }

    /** Three segments (two sets with mixed ranks, base rows between them) in one launch pair; each row as if alone. */
    @Test
    void segmentedLowRankMatchesReferenceAndIsBatchInvariant() {
        Random r = new Random(23);
        int in = 128, out = 96;
        List<WeightedTarget> setA = List.of(
                new WeightedTarget(randomTarget(arena, r, 0, ProjectionKind.V, 4, in, out, 2f, 0.3f), 0.7f),
                new WeightedTarget(randomTarget(arena, r, 0, ProjectionKind.V, 16, in, out, 1f, 0.2f), -0.4f));
        List<WeightedTarget> setB = List.of(
                new WeightedTarget(randomTarget(arena, r, 0, ProjectionKind.V, 8, in, out, 0.5f, 0.3f), 1f));
        List<List<WeightedTarget>> perRow = new java.util.ArrayList<>();
        for (int i = 0; i < 10; i++) perRow.add(i < 3 ? setA : i < 5 ? null : setB);
        float[][] xs = new float[10][], ys = new float[10][];
        for (int i = 0; i < 10; i++) { xs[i] = randomFloats(r, in, 1f); ys[i] = randomFloats(r, out, 1f); }
        float[][] got = ops.lowRankSegments(xs, ys, perRow);
        assumeTrue(got != null, "this backend has no segmented low-rank kernels");
        for (int i = 0; i < 10; i++) {
            List<WeightedTarget> set = perRow.get(i);
            double[] ref = set == null ? ReferenceOps.lowRankAdd(xs[i], ys[i], List.of()) : ReferenceOps.lowRankAdd(xs[i], ys[i], set);
            assertTrue(maxDiff(got[i], ref) <= 1e-5 * Math.max(1, maxAbs(ref)), "row " + i + " max error " + maxDiff(got[i], ref));
            List<List<WeightedTarget>> alone = new java.util.ArrayList<>();
            alone.add(set);
            assertArrayEquals(got[i], ops.lowRankSegments(new float[][] {xs[i]}, new float[][] {ys[i]}, alone)[0],
                    "row " + i + " alone vs in the mixed batch");
        }
    }

    // ------------------------------------------------------------------------------------------------ model level

    @Test
    void greedyStories260kF32MatchesGoldenText() {
        checkGreedy(f32Model);
    }

    @Test
    void greedyStories260kQ8MatchesGoldenText() {
        checkGreedy(q8Model);
    }

    private void checkGreedy(LoadedModel m) {
        int[] tokens;
        try (Backend b = loaded(m.weights())) {
            tokens = greedy(b, prompt, GREEDY_STEPS, AdapterBinding.BASE, KvCacheType.F32);
        }
        int[] all = new int[prompt.length - 1 + tokens.length];
        System.arraycopy(prompt, 1, all, 0, prompt.length - 1);
        System.arraycopy(tokens, 0, all, prompt.length - 1, tokens.length);
        String text = m.tokenizer().decode(all).strip();
        assertTrue(text.length() > 60 && golden.startsWith(text), m.description() + " on " + deviceName()
                + " generated\n  " + text + "\nbut the llama2.c reference is\n  " + golden);
        if (!isCpuReference()) {
            try (Backend cpu = cpuReference(m.weights())) {
                assertArrayEquals(greedy(cpu, prompt, GREEDY_STEPS, AdapterBinding.BASE, KvCacheType.F32), tokens,
                        deviceName() + " greedy tokens differ from the CPU backend's");
            }
        }
    }

    /** The INT8 KV cache path end to end: same greedy tokens as the CPU backend's INT8 cache (same quantization rule). */
    @Test
    void greedyWithInt8KvCacheMatchesCpuBackend() {
        assumeTrue(!isCpuReference(), "the CPU backend is the reference of this comparison");
        try (Backend b = loaded(f32Model.weights()); Backend cpu = cpuReference(f32Model.weights())) {
            assertArrayEquals(greedy(cpu, prompt, GREEDY_STEPS, AdapterBinding.BASE, KvCacheType.INT8),
                    greedy(b, prompt, GREEDY_STEPS, AdapterBinding.BASE, KvCacheType.INT8),
                    deviceName() + " greedy tokens with an INT8 KV cache differ from the CPU backend's");
        }
    }

    /**
     * The F16 KV cache path end to end: same greedy tokens as the CPU backend's F16 cache (the shared F16 definition).
     */
    @Test
    void greedyWithF16KvCacheMatchesCpuBackend() {
        assumeTrue(!isCpuReference(), "the CPU backend is the reference of this comparison");
        try (Backend b = loaded(f32Model.weights()); Backend cpu = cpuReference(f32Model.weights())) {
            int[] want = greedy(cpu, prompt, GREEDY_STEPS, AdapterBinding.BASE, KvCacheType.F16);
            assertArrayEquals(want, greedy(b, prompt, GREEDY_STEPS, AdapterBinding.BASE, KvCacheType.F16),
                    deviceName() + " greedy tokens with an F16 KV cache differ from the CPU backend's");
        }
    }

    @Test
    void mergedAndUnmergedLogitsMatchReferenceMergeF32() {
        checkAdapterLogits(f32Model.weights(), 1e-3);
    }

    @Test
    void mergedAndUnmergedLogitsMatchReferenceMergeQ8() {
        checkAdapterLogits(q8Model.weights(), 1e-2);
    }

    private void checkAdapterLogits(LlamaWeights w, double relTol) {
        Map<TensorId, List<WeightedTarget>> deltas = twoAdapters(arena, w.config(), 11);
        int[] seq = Arrays.copyOf(prompt, prompt.length + 6);
        for (int i = prompt.length; i < seq.length; i++) seq[i] = 300 + i;   // teacher-forced continuation
        float[][] ref;
        try (Backend refBackend = cpuReference(referenceMerged(arena, w, deltas))) {
            ref = logitsAlong(refBackend, seq, AdapterBinding.BASE);
        }
        try (Backend b = loaded(w)) {
            float[][] base = logitsAlong(b, seq, AdapterBinding.BASE);
            WeightOverlay merged = b.mergeInto(deltas, "conformance-merged");
            float[][] m = logitsAlong(b, seq, new AdapterBinding.Merged(merged));
            b.release(merged);
            List<DeviceAdapter> uploaded = new java.util.ArrayList<>();
            float[][] u = logitsAlong(b, seq, StepHarness.upload(b, deltas, uploaded));
            uploaded.forEach(DeviceAdapter::close);
            for (int i = 0; i < seq.length; i++) {
                double tol = relTol * maxAbs(ref[i]);
                assertTrue(maxDiff(base[i], ref[i]) > 10 * tol, "the adapters must change the logits noticeably at step " + i);
                assertTrue(maxDiff(m[i], ref[i]) <= tol, "MERGED logits at step " + i + " differ by " + maxDiff(m[i], ref[i]));
                if (w.layers().getFirst().wq().type() == GgmlType.F32) {
                    assertTrue(maxDiff(u[i], ref[i]) <= tol, "UNMERGED logits at step " + i + " differ by " + maxDiff(u[i], ref[i]));
                } else {
                    // UNMERGED skips the requantization of the working copy, so it is compared loosely on a quantized base
                    assertTrue(maxDiff(u[i], ref[i]) <= 10 * tol, "UNMERGED logits at step " + i + " differ by " + maxDiff(u[i], ref[i]));
                }
            }
        }
    }

    @Test
    void thousandAttachDetachCyclesLeaveMemoryAndBaseUnchanged() {
        LlamaWeights w = q8Model.weights();
        Map<TensorId, List<WeightedTarget>> deltas = oneAdapterQV(arena, w.config(), 12);
        try (Backend b = loaded(w)) {
            Map<String, byte[]> digestsBefore = b.baseTensorDigests();
            int[] first = {prompt[0]};
            float[] baseLogits = logitsAlong(b, first, AdapterBinding.BASE)[0];
            // One warm-up cycle per mode first: a driver may reserve memory lazily at a kernel's first launch.
            b.release(b.mergeInto(deltas, "warm-up-merged"));
            List<DeviceAdapter> warm = new java.util.ArrayList<>();
            StepHarness.upload(b, deltas, warm);
            warm.forEach(DeviceAdapter::close);
            MemorySnapshot before = b.memory().snapshot();
            OptionalLong freeBefore = deviceFreeBytes(b);
            int cycles = attachDetachCycles();
            for (int i = 0; i < cycles; i++) {
                AttachMode mode = i % 2 == 0 ? AttachMode.MERGED : AttachMode.UNMERGED;
                List<DeviceAdapter> uploaded = new java.util.ArrayList<>();
                WeightOverlay o = mode == AttachMode.MERGED ? b.mergeInto(deltas, "cycle-" + i) : null;
                AdapterBinding binding = o != null ? new AdapterBinding.Merged(o) : StepHarness.upload(b, deltas, uploaded);
                assertTrue(b.memory().used() > before.usedBytes(), "an attach holds memory");
                if (i % 100 < 2) {
                    float[] l = logitsAlong(b, first, binding)[0];
                    assertTrue(maxDiff(l, baseLogits) > 1e-4, mode + " adapters of cycle " + i + " must change the logits");
                }
                if (o != null) {
                    b.release(o);
                    assertTrue(o.released());
                }
                uploaded.forEach(DeviceAdapter::close);
                assertEquals(before.usedBytes(), b.memory().used(), "accounted memory after cycle " + i);
            }
            MemorySnapshot after = b.memory().snapshot();
            assertEquals(before, after, "memory figures after " + cycles + " cycles");
            assertEquals(0, after.workingCopyBytes());
            assertEquals(0, after.adapterBytes());
            if (freeBefore.isPresent()) {
                assertEquals(freeBefore.getAsLong(), deviceFreeBytes(b).getAsLong(), "driver-reported free device memory");
            }
            assertEquals(digestsHex(digestsBefore), digestsHex(b.baseTensorDigests()), "base tensors after " + cycles + " cycles");
            assertArrayEquals(baseLogits, logitsAlong(b, first, AdapterBinding.BASE)[0], "base logits after " + cycles + " cycles");
        }
    }

    @Test
    void redLineFailsFastAndLeavesMemoryUnchanged() {
        LlamaWeights w = q8Model.weights();
        Map<TensorId, List<WeightedTarget>> deltas = twoAdapters(arena, w.config(), 13);
        long headroom;
        try (Backend probe = loaded(w)) {
            headroom = probe.memory().used() + 1024;
            assertTrue(probe.mergeBytes(deltas) > 1024);
        }
        try (Backend b = newBackend(new MemoryBudget(deviceName(), headroom))) {
            b.loadBase(w);
            long used = b.memory().used();
            RedLineExceededException e = assertThrows(RedLineExceededException.class,
                    () -> b.mergeInto(deltas, "too-big"));
            assertTrue(e.getMessage().contains("red line"), e.getMessage());
            assertEquals(used, b.memory().used(), "a refused MERGED copy leaves nothing behind");
            assertThrows(RedLineExceededException.class, () -> StepHarness.upload(b, deltas, new java.util.ArrayList<>()));
            assertEquals(used, b.memory().used(), "a refused upload leaves nothing behind");
            assertEquals(0, b.memory().used(MemoryCategory.WORKING_COPY));
            assertEquals(0, b.memory().used(MemoryCategory.ADAPTER));
        }
    }

    @Test
    void releasedOverlayIsRejected() {
        try (Backend b = loaded(f32Model.weights())) {
            Map<TensorId, List<WeightedTarget>> deltas = twoAdapters(arena, f32Model.weights().config(), 14);
            WeightOverlay o = b.mergeInto(deltas, "released");
            b.release(o);
            b.release(o);   // idempotent
            assertThrows(IllegalStateException.class, () -> logitsAlong(b, new int[] {1}, new AdapterBinding.Merged(o)));
            List<DeviceAdapter> uploaded = new java.util.ArrayList<>();
            AdapterBinding.LowRank lowRank = StepHarness.upload(b, deltas, uploaded);
            uploaded.forEach(DeviceAdapter::close);
            uploaded.forEach(DeviceAdapter::close); // idempotent
            assertThrows(IllegalStateException.class, () -> logitsAlong(b, new int[] {1}, lowRank));
        }
    }
}
