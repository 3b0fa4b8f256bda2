package dev.loracle.runtime.cuda;

import dev.loracle.runtime.memory.MemoryBudget;
import dev.loracle.runtime.memory.MemoryCategory;
import dev.loracle.runtime.memory.Reservation;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Every device allocation of the CUDA backend goes through here: the bytes are reserved against the device's
 * {@link MemoryBudget} ("cuda:0") BEFORE cuMemAlloc, so a request that would cross the red line fails fast without
 * touching the device, and freeing releases the reservation, so the accounted figure returns to the base exactly.
 * No managed memory: plain device allocations only.
 */
public final class DeviceMemoryPool implements AutoCloseable {
    private final DeviceAllocator allocator;
    private final MemoryBudget budget;
    private final Map<DeviceBuffer, Boolean> live = Collections.synchronizedMap(new IdentityHashMap<>());

    public DeviceMemoryPool(DeviceAllocator allocator, MemoryBudget budget) {
        this.allocator = Objects.requireNonNull(allocator, "allocator");
        this.budget = Objects.requireNonNull(budget, "budget");
    }

    public MemoryBudget budget() { return budget; }

    public DeviceAllocator allocator() { return allocator; }

    /**
     * Reserves then allocates. Throws {@code RedLineExceededException} (nothing allocated) above the red line and
     * {@link CudaException} (reservation released again) when the driver refuses.
     */
    public DeviceBuffer allocate(MemoryCategory category, long bytes, String owner) {
        if (bytes <= 0) throw new IllegalArgumentException("device allocation for " + owner + " must be > 0 bytes, got " + bytes);
        Reservation r = budget.reserve(category, bytes, owner);
        DevicePtr ptr;
        try {
            ptr = allocator.allocate(bytes);
        } catch (RuntimeException | Error e) {
            r.close();
            throw e;
        }
        DeviceBuffer b = new DeviceBuffer(this, ptr, bytes, r);
        live.put(b, Boolean.TRUE);
        return b;
    }

    void release(DeviceBuffer buffer, DevicePtr ptr, Reservation reservation) {
        try {
            allocator.free(ptr);
        } finally {
            reservation.close();
            live.remove(buffer);
        }
    }

    public int liveCount() { return live.size(); }

    public long liveBytes() {
        synchronized (live) {
            return live.keySet().stream().mapToLong(DeviceBuffer::bytes).sum();
        }
    }

    /** Frees everything still live (backend shutdown). */
    @Override
    public void close() {
        List<DeviceBuffer> all;
        synchronized (live) {
            all = List.copyOf(live.keySet());
        }
        all.forEach(DeviceBuffer::close);
    }
}
