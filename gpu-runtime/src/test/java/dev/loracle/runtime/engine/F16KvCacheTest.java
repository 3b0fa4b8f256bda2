package dev.loracle.runtime.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.loracle.runtime.model.ArchGolden;
import dev.loracle.runtime.model.WeightFormat;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The F16 KV cache: storage and block layout (/work/coord/f16kv.md), and batch invariance with K-quant weights. */
class F16KvCacheTest {

    @Test
    void storesRoundToNearestEvenHalvesInTheSharedBlockLayout() {
        int layers = 2, kvDim = 12, headDim = 4, B = KvBlockStorage.BLOCK_POSITIONS;
        CpuKvBlocks kv = new CpuKvBlocks(KvCacheType.F16, layers, kvDim, headDim);
        assertEquals(2L * layers * B * kvDim * 2, kv.blockBytes());
        assertEquals(kv.blockBytes(), KvCacheType.F16.blockBytes(layers, kvDim, headDim));
        assertEquals(KvCacheType.F32.blockBytes(layers, kvDim, headDim) / 2, kv.blockBytes());
        kv.acquire(0);
        SplittableRandom r = new SplittableRandom(1);
        float[] k = new float[kvDim], v = new float[kvDim];
        for (int i = 0; i < kvDim; i++) {
            k[i] = (float) r.nextGaussian() * 3;
            v[i] = (float) r.nextGaussian();
        }
        k[0] = 1.0f + 0x1p-11f; // exactly halfway between two halves: ties to even (1.0)
        kv.block(0).store(1, 5, k, 0, v, 0);
        ByteBuffer rows = ByteBuffer.wrap(kv.readBlock(0)).order(ByteOrder.LITTLE_ENDIAN);
        int values = layers * B * kvDim;
        for (int i = 0; i < kvDim; i++) {
            int at = (1 * B + 5) * kvDim + i; // element (layer 1, slot 5, i)
            assertEquals(Float.floatToFloat16(k[i]), rows.getShort(2 * at), "key " + i);
            assertEquals(Float.floatToFloat16(v[i]), rows.getShort(2 * (values + at)), "value " + i);
        }
        assertEquals((short) 0x3C00, rows.getShort(2 * ((B + 5) * kvDim)));
        kv.acquire(1);
        kv.writeBlock(1, kv.readBlock(0));
        assertArrayEquals(kv.readBlock(0), kv.readBlock(1));
        assertThrows(IllegalArgumentException.class, () -> kv.writeBlock(1, new byte[(int) kv.blockBytes() - 2]));
        assertEquals(KvCacheType.F16, KvCacheType.parse("half"));
        assertEquals(KvCacheType.F16, KvCacheType.parse("float16"));
    }

    @Test
    void aRequestAloneEqualsTheSameRequestInABatchWithKQuantsAndF16() throws Exception {
        try (InferenceEngine e = InferenceEngine.open(EngineConfig.of(ArchGolden.model("kq-Q4_K_M")).withQuant(WeightFormat.AS_FILE)
                .withKvCache(KvCacheType.F16).withThreads(2).withBackend(BackendKind.CPU).withStepTokens(24).withMaxRunning(16))) {
            assertNotEquals(-1, e.numericProfile().indexOf(";kv=f16;"), e.numericProfile());
            SequenceRequest req = SequenceRequest.of(new GenerationRequest("The quick brown fox jumps over the lazy dog", 12, 0.8f, 0.95f, 7))
                    .withIgnoreEos(true);
            List<float[]> alone = new ArrayList<>();
            int[] soloTokens = InferenceEngine.await(e.submit(req, alone::add)).tokens();
            List<float[]> together = new ArrayList<>();
            List<CompletableFuture<GenerationResult>> others = new ArrayList<>();
            CompletableFuture<GenerationResult> mine = null;
            for (int i = 0; i < 8; i++) {
                if (i == 4) mine = e.submit(req, together::add).result();
                else others.add(e.submit(SequenceRequest.of(new GenerationRequest("Prompt number " + i + " is longer " + "x ".repeat(i * 5),
                        6 + i, 0.7f, 1f, 100 + i)).withIgnoreEos(true)).result());
            }
            assertArrayEquals(soloTokens, mine.get(60, TimeUnit.SECONDS).tokens());
            for (CompletableFuture<GenerationResult> f : others) f.get(60, TimeUnit.SECONDS);
            assertEquals(alone.size(), together.size());
            for (int s = 0; s < alone.size(); s++) assertArrayEquals(alone.get(s), together.get(s), "logits at step " + s);
        }
    }
}
