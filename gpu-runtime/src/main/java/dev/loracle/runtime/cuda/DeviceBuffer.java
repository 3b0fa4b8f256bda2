package dev.loracle.runtime.cuda;

import dev.loracle.runtime.memory.MemoryCategory;
import dev.loracle.runtime.memory.Reservation;

import java.util.concurrent.atomic.AtomicBoolean;

/** Device memory owned by a {@link DeviceMemoryPool}; {@link #close()} frees it and releases its accounting (idempotent). */
public final class DeviceBuffer implements AutoCloseable {
    private final DeviceMemoryPool pool;
    private final DevicePtr ptr;
    private final long bytes;
    private final Reservation reservation;
    private final AtomicBoolean open = new AtomicBoolean(true);

    DeviceBuffer(DeviceMemoryPool pool, DevicePtr ptr, long bytes, Reservation reservation) {
        this.pool = pool;
        this.ptr = ptr;
        this.bytes = bytes;
        this.reservation = reservation;
    }

    public DevicePtr ptr() {
        if (!open.get()) throw new IllegalStateException("device buffer of " + owner() + " was already freed");
        return ptr;
    }

    public long bytes() { return bytes; }

    public MemoryCategory category() { return reservation.category(); }

    public String owner() { return reservation.owner(); }

    public boolean isOpen() { return open.get(); }

    @Override
    public void close() {
        if (open.compareAndSet(true, false)) pool.release(this, ptr, reservation);
    }

    @Override
    public String toString() {
        return "DeviceBuffer[" + category() + " " + bytes + " bytes for " + owner() + (open.get() ? "" : ", freed") + "]";
    }
}
