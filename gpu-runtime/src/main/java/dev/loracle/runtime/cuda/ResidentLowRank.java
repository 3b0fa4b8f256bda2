package dev.loracle.runtime.cuda;

import dev.loracle.runtime.lora.LoraTarget;
import dev.loracle.runtime.memory.MemoryCategory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Low-rank targets resident on the device in ONE buffer (one reservation, one upload): per target A [rank x in] and
 * B transposed [rank x out], F32, so both the shrink and the expand stream rows. Same byte count as the adapter file's
 * A and B. Closing frees the buffer and its ADAPTER reservation.
 */
final class ResidentLowRank implements AutoCloseable {
    /** One target's operands on the device. */
    record Target(LoraTarget source, DevicePtr a, DevicePtr bt) {}

    private final DeviceBuffer buffer;
    private final List<Target> targets = new ArrayList<>();

    ResidentLowRank(DeviceRuntime device, DeviceMemoryPool pool, List<LoraTarget> sources, String owner) {
        long bytes = 0;
        for (LoraTarget t : sources) bytes += 4L * t.rank() * (t.in() + t.out());
        this.buffer = pool.allocate(MemoryCategory.ADAPTER, Math.max(4, bytes), owner);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(Math.max(4, bytes), 16);
            long off = 0;
            for (LoraTarget t : sources) {
                long aBytes = 4L * t.rank() * t.in(), btBytes = 4L * t.rank() * t.out();
                MemorySegment.copy(t.a(), 0, host, off, aBytes);
                for (int k = 0; k < t.rank(); k++) {
                    for (int o = 0; o < t.out(); o++) {
                        host.set(LoraTarget.F32, off + aBytes + 4L * ((long) k * t.out() + o), t.bAt(o, k));
                    }
                }
                targets.add(new Target(t, buffer.ptr().offset(off), buffer.ptr().offset(off + aBytes)));
                off += aBytes + btBytes;
            }
            device.upload(host, buffer.ptr());
        } catch (RuntimeException | Error e) {
            buffer.close();
            throw e;
        }
    }

    List<Target> targets() { return targets; }

    long bytes() { return buffer.bytes(); }

    boolean closed() { return !buffer.isOpen(); }

    @Override
    public void close() { buffer.close(); }
}
