package dev.loracle.runtime.conformance;

import dev.loracle.runtime.engine.Backend;
import dev.loracle.runtime.engine.KvBlockStorage;
import dev.loracle.runtime.engine.KvCacheType;
import dev.loracle.runtime.memory.MemoryBudget;
import dev.loracle.runtime.model.LoadedModel;
import dev.loracle.runtime.model.ModelConfig;
import dev.loracle.runtime.model.ModelLoader;
import dev.loracle.runtime.model.TestModels;
import dev.loracle.runtime.model.WeightFormat;
import dev.loracle.runtime.session.KvSnapshot;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The CUDA KV cache's storage on the HOST EMULATION (no GPU): what the RoPE + KV store kernel leaves in an F16 block,
 * and the block export/import ({@link KvBlockStorage#readBlock}/{@link KvBlockStorage#writeBlock}) that KV snapshots
 * use, with its size checks. That the exported layout is the CPU's is checked in EmulatedCudaKvSnapshotsTest.
 */
class EmulatedCudaKvBlocksTest {
    @BeforeAll
    static void emulation() {
        String why = EmulatedCuda.unavailableReason();
        assumeTrue(why == null, () -> "CUDA emulation unavailable: " + why);
    }

    /** Keys and values [16][nKv * headSize] with ties, subnormals, overflow and ordinary values. */
    private static float[][] awkwardRows(Random r, int kvDim) {
        // ties to even (down, up, negative), subnormals (a tie at the smallest), the largest half, overflow to infinity
        float[] special = {1f + 0x1p-11f, 1f + 3 * 0x1p-11f, -(2f + 0x1p-10f), 0x1p-20f, 0x1p-25f, 0x1.8p-24f, 65504f,
                65520f, 1e6f, 0.1f, 1f / 3};
        float[][] rows = new float[16][kvDim];
        for (int p = 0; p < 16; p++) {
            for (int i = 0; i < kvDim; i++) {
                int k = p * kvDim + i;
                rows[p][i] = k < special.length ? special[k] : (float) r.nextGaussian() * 3f;
            }
        }
        return rows;
    }

    @Test
    void theKvStoreKernelWritesHalvesRoundedToNearestEven() {
        int nKv = 2, headSize = 16, kvDim = nKv * headSize;
        Random r = new Random(13);
        float[][] keys = awkwardRows(r, kvDim), values = awkwardRows(r, kvDim);
        byte[] block;
        try (CudaKernelOps ops = new CudaKernelOps(new EmulatedCuda.Device(), new EmulatedCuda.Launcher(), null)) {
            block = ops.storedBlock(KvCacheType.F16, keys, values, nKv, headSize);
        }
        assertEquals(2 * 16 * kvDim * 2, block.length, "one layer: keys then values, 2 bytes each");
        ByteBuffer in = ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN);
        for (int p = 0; p < 16; p++) {
            for (int i = 0; i < kvDim; i++) {
                assertEquals(Float.floatToFloat16(keys[p][i]), in.getShort(2 * (p * kvDim + i)), "key " + keys[p][i]);
                assertEquals(Float.floatToFloat16(values[p][i]), in.getShort(2 * ((16 + p) * kvDim + i)), "value " + values[p][i]);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(KvCacheType.class)
    void blocksRoundTripThroughReadAndWriteWithSizedChecks(KvCacheType kv) {
        try (Arena arena = Arena.ofShared();
             Backend b = EmulatedCuda.backend(new MemoryBudget("cuda-emu:0", 1L << 30))) {
            LoadedModel m = ModelLoader.load(TestModels.ggufQ8(), null, WeightFormat.AS_FILE, arena);
            b.loadBase(m.weights());
            ModelConfig c = m.weights().config();
            try (KvBlockStorage s = b.createKvStorage(kv)) {
                long f32 = 2L * c.nLayers() * 16 * c.kvDim() * 4;
                long want = switch (kv) {
                    case F32 -> f32;
                    case F16 -> f32 / 2;
                    case INT8 -> f32 / 4 + 2L * c.nLayers() * 16 * c.nKvHeads() * 4;
                };
                assertEquals(want, s.blockBytes(), "the bytes the pool accounts per block");
                assertEquals(KvSnapshot.blockBytes(kv, c.nLayers(), c.kvDim(), c.headDim()), s.blockBytes(), "snapshot block size");
                Random r = new Random(kv.ordinal());
                int[] ids = {0, 1, 17};   // 17: a second slab
                byte[][] rows = new byte[ids.length][(int) s.blockBytes()];
                for (int i = 0; i < ids.length; i++) {
                    s.acquire(ids[i]);
                    r.nextBytes(rows[i]);
                    s.writeBlock(ids[i], rows[i]);
                }
                for (int i = 0; i < ids.length; i++) assertArrayEquals(rows[i], s.readBlock(ids[i]), "block " + ids[i]);

                IllegalArgumentException size = assertThrows(IllegalArgumentException.class, () -> s.writeBlock(1, new byte[5]));
                assertTrue(size.getMessage().contains(s.blockBytes() + " bytes, got 5"), size.getMessage());
                IllegalStateException free = assertThrows(IllegalStateException.class, () -> s.readBlock(2));
                assertTrue(free.getMessage().contains("not in use"), free.getMessage());
                assertThrows(IllegalStateException.class, () -> s.writeBlock(2, rows[0]));
                assertArrayEquals(rows[1], s.readBlock(1), "a refused write leaves the block as it was");
            }
        }
    }
}
