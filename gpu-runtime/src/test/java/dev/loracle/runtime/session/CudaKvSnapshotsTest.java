package dev.loracle.runtime.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.loracle.runtime.cuda.CudaProbe;
import dev.loracle.runtime.engine.AttachMode;
import dev.loracle.runtime.engine.BackendKind;
import dev.loracle.runtime.engine.EngineConfig;
import dev.loracle.runtime.engine.GenerationRequest;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.engine.KvCacheType;
import dev.loracle.runtime.engine.SequenceRequest;
import dev.loracle.runtime.model.ModelConfig;
import dev.loracle.runtime.model.TestModels;
import dev.loracle.runtime.tensor.MatVec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link KvSnapshotsTest} on the CUDA backend: capture on one engine, resume on a fresh one, tokens equal to a full
 * prefill; bad snapshots rejected (a tampered block by the spot check). Plus: the rows CUDA exports are in the CPU
 * cache's layout (the snapshot format), compared with the CPU backend's rows of the same tokens (a round trip alone
 * would not see a layout that is wrong both ways). Skipped without a usable device (bin/gpu-check runs it on a GPU);
 * {@link EmulatedCudaKvSnapshotsTest} runs it on the host emulation of the kernels.
 */
class CudaKvSnapshotsTest extends KvSnapshotsTest {
    private static final KvSnapshots.AdapterSet BASE = new KvSnapshots.AdapterSet(List.of(), AttachMode.UNMERGED, "base");

    /** Null when the backend can run here, else why not. */
    String unavailableReason() {
        CudaProbe.Result r = CudaProbe.probe();
        return r.available() ? null : r.reason();
    }

    @BeforeEach
    void backendAvailable() {
        String why = unavailableReason();
        assumeTrue(why == null, () -> "CUDA backend unavailable: " + why);
    }

    static EngineConfig config(KvCacheType kv) {
        return EngineConfig.of(TestModels.ggufQ8()).withKvCache(kv).withStepTokens(32).withPrefixCache(true);
    }

    @Override
    InferenceEngine engine(KvCacheType kv) {
        return InferenceEngine.open(config(kv).withBackend(BackendKind.CUDA));
    }

    /** The blocks of 48 fixed prompt tokens, as the engine exports them (3 blocks). */
    private static List<byte[]> rowsOf(InferenceEngine e, int[] prompt) {
        e.submit(SequenceRequest.of(GenerationRequest.greedy("", 1)).withPromptTokens(prompt).withIgnoreEos(true)).result().join();
        return new KvSnapshots(e, 1e-3f).capture("", prompt, 0, BASE).orElseThrow().blocks();
    }

    /**
     * Same tokens, CPU backend (float dot products, as CUDA) vs emulated CUDA: every exported value agrees within a
     * tolerance relative to the block's largest value, F16 rows against the CPU's F32 rows. A permuted layout would
     * differ by O(1). F32: only the summation order differs (emulation: 5e-7); INT8: a quant may round the other way,
     * one step = 1/127 of its head's largest value (emulation: 4e-7, none did); F16: half precision keeps 11
     * significant bits, so a value moves by up to 2^-12 of itself, and F16 attention feeds every later layer
     * (emulation: 5.2e-4).
     */
    @ParameterizedTest
    @EnumSource(KvCacheType.class)
    void exportedRowsAreInTheCpuLayout(KvCacheType kv) {
        KvCacheType cpuKv = kv == KvCacheType.F16 ? KvCacheType.F32 : kv;
        float tolerance = switch (kv) {
            case F32 -> 1e-5f;
            case INT8 -> 1.2f / 127;
            case F16 -> 2e-3f;
        };
        int[] prompt = randomTokens(48, 77);
        List<byte[]> cuda, cpu;
        ModelConfig c;
        try (InferenceEngine e = engine(kv)) {
            cuda = rowsOf(e, prompt);
            c = e.weights().config();
        }
        try (InferenceEngine e = InferenceEngine.open(config(cpuKv).withBackend(BackendKind.CPU).withThreads(2).withDotMode(MatVec.DotMode.FLOAT))) {
            cpu = rowsOf(e, prompt);
        }
        assertEquals(3, cuda.size());
        for (int b = 0; b < 3; b++) {
            float[] x = KvSnapshots.values(cuda.get(b), kv, c), y = KvSnapshots.values(cpu.get(b), cpuKv, c);
            float diff = 0, amax = 1;
            for (int i = 0; i < x.length; i++) {
                diff = Math.max(diff, Math.abs(x[i] - y[i]));
                amax = Math.max(amax, Math.abs(y[i]));
            }
            assertTrue(diff / amax <= tolerance, kv + " block " + b + " differs from the CPU's rows by " + diff / amax);
        }
    }

    /**
     * Layer 0's keys and values do not depend on the cache (projections and RoPE of the embeddings), so the F16 cache
     * holds exactly the round-to-nearest-even halves of the F32 cache's values there.
     */
    @Test
    void layerZeroOfTheF16CacheIsTheF32CacheRoundedToNearestEven() {
        int[] prompt = randomTokens(48, 78);
        List<byte[]> f32, f16;
        ModelConfig c;
        try (InferenceEngine e = engine(KvCacheType.F32)) {
            f32 = rowsOf(e, prompt);
            c = e.weights().config();
        }
        try (InferenceEngine e = engine(KvCacheType.F16)) {
            f16 = rowsOf(e, prompt);
        }
        int layerElems = KvSnapshot.BLOCK_POSITIONS * c.nKvHeads() * c.headDim(), valuesFrom = c.nLayers() * layerElems;
        for (int b = 0; b < f32.size(); b++) {
            ByteBuffer wide = ByteBuffer.wrap(f32.get(b)).order(ByteOrder.LITTLE_ENDIAN);
            ByteBuffer half = ByteBuffer.wrap(f16.get(b)).order(ByteOrder.LITTLE_ENDIAN);
            for (int from : new int[] {0, valuesFrom}) {
                for (int i = from; i < from + layerElems; i++) {
                    float x = wide.getFloat(4 * i);
                    assertEquals(Float.floatToFloat16(x), half.getShort(2 * i), "block " + b + " element " + i + " = " + x);
                }
            }
        }
    }
}
