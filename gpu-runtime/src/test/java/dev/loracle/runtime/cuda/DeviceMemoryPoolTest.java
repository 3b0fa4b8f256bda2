package dev.loracle.runtime.cuda;

import dev.loracle.runtime.memory.MemoryBudget;
import dev.loracle.runtime.memory.MemoryCategory;
import dev.loracle.runtime.memory.RedLineExceededException;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * PURE ACCOUNTING LOGIC of the device pool, against a fake allocator that only hands out numbers (no GPU, no
 * cuMemAlloc): reserve-before-allocate, red line enforced before the allocator is called, release on free and on
 * allocator failure, return to the base figure after many cycles. The real cuMemAlloc/cuMemGetInfo path is covered
 * by the CUDA conformance run on a GPU.
 */
class DeviceMemoryPoolTest {
    /** Hands out increasing fake addresses and tracks what is outstanding, like cuMemAlloc would. */
    static final class FakeAllocator implements DeviceAllocator {
        final long capacity;
        long next = 0x7f0000000000L;
        final Map<Long, Long> outstanding = new HashMap<>();
        final List<Long> calls = new ArrayList<>();
        boolean failNext;

        FakeAllocator(long capacity) { this.capacity = capacity; }

        long outstandingBytes() { return outstanding.values().stream().mapToLong(Long::longValue).sum(); }

        @Override
        public DevicePtr allocate(long bytes) {
            calls.add(bytes);
            if (failNext) {
                failNext = false;
                throw new CudaException("cuMemAlloc failed: CUDA_ERROR_OUT_OF_MEMORY (fake)");
            }
            long a = next;
            next += (bytes + 255) / 256 * 256;
            outstanding.put(a, bytes);
            return new FakeDevicePtr(a);
        }

        @Override
        public void free(DevicePtr ptr) {
            Long b = outstanding.remove(((FakeDevicePtr) ptr).address());
            if (b == null) throw new IllegalStateException("double free of " + ptr);
        }

        @Override
        public long[] memGetInfo() { return new long[] {capacity - outstandingBytes(), capacity}; }
    }

    @Test
    void redLineIsEnforcedBeforeTheDeviceIsAsked() {
        FakeAllocator fake = new FakeAllocator(1 << 30);
        DeviceMemoryPool pool = new DeviceMemoryPool(fake, new MemoryBudget("cuda:0", 1000));
        pool.allocate(MemoryCategory.BASE_WEIGHTS, 600, "base");
        RedLineExceededException e = assertThrows(RedLineExceededException.class,
                () -> pool.allocate(MemoryCategory.WORKING_COPY, 500, "adapter-x"));
        assertTrue(e.getMessage().contains("cuda:0"), e.getMessage());
        assertEquals(List.of(600L), fake.calls, "the refused request never reached the allocator");
        assertEquals(600, pool.budget().used());
    }

    @Test
    void allocatorFailureReleasesTheReservation() {
        FakeAllocator fake = new FakeAllocator(1 << 30);
        DeviceMemoryPool pool = new DeviceMemoryPool(fake, new MemoryBudget("cuda:0", 10_000));
        fake.failNext = true;
        assertThrows(CudaException.class, () -> pool.allocate(MemoryCategory.ADAPTER, 100, "a"));
        assertEquals(0, pool.budget().used());
        assertEquals(0, pool.liveCount());
    }

    @Test
    void thousandAttachDetachCyclesReturnToTheBaseFigure() {
        FakeAllocator fake = new FakeAllocator(1L << 34);
        DeviceMemoryPool pool = new DeviceMemoryPool(fake, new MemoryBudget("cuda:0", 1L << 32));
        pool.allocate(MemoryCategory.BASE_WEIGHTS, 123_456_789L, "base");
        long baseAccounted = pool.budget().used();
        long baseDriverFree = fake.memGetInfo()[0];
        for (int i = 0; i < 1000; i++) {
            String owner = "attach-" + i;
            DeviceBuffer a = pool.allocate(MemoryCategory.ADAPTER, 1000 + i, owner);
            DeviceBuffer w = pool.allocate(MemoryCategory.WORKING_COPY, 50_000 + 7L * i, owner);
            DeviceBuffer s = pool.allocate(MemoryCategory.SCRATCH, 64, owner);
            assertEquals(4, pool.liveCount());
            a.close();
            w.close();
            s.close();
        }
        assertEquals(baseAccounted, pool.budget().used());
        assertEquals(pool.budget().baseBytes(), pool.budget().used());
        assertEquals(baseDriverFree, fake.memGetInfo()[0]);
        assertEquals(1, pool.liveCount());
        pool.close();
        assertEquals(0, fake.outstanding.size());
        assertEquals(0, pool.budget().used());
    }

    @Test
    void closeIsIdempotentAndAFreedBufferCannotBeUsed() {
        FakeAllocator fake = new FakeAllocator(1 << 20);
        DeviceMemoryPool pool = new DeviceMemoryPool(fake, new MemoryBudget("cuda:0", 1 << 20));
        DeviceBuffer b = pool.allocate(MemoryCategory.KV_CACHE, 4096, "gen-1");
        b.close();
        b.close();
        assertEquals(0, fake.outstanding.size());
        assertThrows(IllegalStateException.class, b::ptr);
        assertThrows(IllegalArgumentException.class, () -> pool.allocate(MemoryCategory.SCRATCH, 0, "x"));
    }
}
