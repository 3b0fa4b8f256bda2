package dev.loracle.runtime.cuda;

import dev.loracle.runtime.engine.KvBlockStorage;
import dev.loracle.runtime.engine.KvCacheType;
import dev.loracle.runtime.model.ModelConfig;

import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;

/**
 * Paged KV blocks in device memory (layout: kv_cache.cuh, {@link DeviceKvLayout}). Blocks come from slabs of
 * {@value #SLAB} blocks, each one plain allocation made when its first block is acquired and freed when its last is
 * released, so a steady decode allocates nothing, and idle VRAM returns to the base. The engine's block pool accounts
 * the bytes (KV_CACHE), so the slabs use the raw allocator. Thread-safe (acquire/release come from the scheduler,
 * addresses from the step). {@link #readBlock}/{@link #writeBlock} move a whole block in one copy on the backend's
 * stream, holding the backend's lock so that they never overlap a step, and convert between the device layout and the
 * host format on the host.
 */
final class DeviceKvBlocks implements KvBlockStorage {
    static final int SLAB = 16;

    private final DeviceRuntime device;
    private final Object deviceLock;
    private final DeviceKvLayout layout;
    private final long blockBytes;
    private final Map<Integer, DevicePtr> slabs = new HashMap<>();
    private final Map<Integer, Integer> inUse = new HashMap<>();
    private final java.util.Set<Integer> acquired = new java.util.HashSet<>();

    /** {@code deviceLock} serialises block copies with the backend's steps (the backend itself). */
    DeviceKvBlocks(DeviceRuntime device, KvCacheType type, ModelConfig c, Object deviceLock) {
        this.device = device;
        this.deviceLock = deviceLock;
        this.layout = DeviceKvLayout.of(type, c);
        this.blockBytes = layout.blockBytes();
    }

    @Override public KvCacheType type() { return layout.type(); }

    @Override public long blockBytes() { return blockBytes; }

    @Override
    public synchronized void acquire(int id) {
        if (id < 0) throw new IllegalArgumentException("KV block id " + id);
        if (!acquired.add(id)) throw new IllegalStateException("KV block " + id + " is already in use");
        int slab = id / SLAB;
        if (!slabs.containsKey(slab)) {
            try {
                device.makeCurrent();
                slabs.put(slab, device.allocate(SLAB * blockBytes));
            } catch (RuntimeException e) {
                acquired.remove(id);
                throw e;
            }
        }
        inUse.merge(slab, 1, Integer::sum);
    }

    @Override
    public synchronized void release(int id) {
        if (!acquired.remove(id)) throw new IllegalStateException("KV block " + id + " is not in use");
        int slab = id / SLAB;
        if (inUse.merge(slab, -1, Integer::sum) == 0) {
            inUse.remove(slab);
            device.makeCurrent();
            device.synchronize();   // a step still running may read it
            device.free(slabs.remove(slab));
        }
    }

    /** Device address of block {@code id} (must be acquired). */
    synchronized long address(int id) {
        return slabAddress(id).address();
    }

    @Override
    public byte[] readBlock(int id) {
        byte[] rows = new byte[Math.toIntExact(blockBytes)];
        MemorySegment staged = MemorySegment.ofArray(new byte[rows.length]);
        synchronized (deviceLock) {
            synchronized (this) {
                device.makeCurrent();
                device.download(slabAddress(id), staged);   // after the steps queued before it on the stream
            }
        }
        layout.toHost(staged, MemorySegment.ofArray(rows));
        return rows;
    }

    @Override
    public void writeBlock(int id, byte[] rows) {
        if (rows.length != blockBytes) {
            throw new IllegalArgumentException("a " + type() + " KV block has " + blockBytes + " bytes, got " + rows.length);
        }
        MemorySegment staged = MemorySegment.ofArray(new byte[rows.length]);
        layout.toDevice(MemorySegment.ofArray(rows), staged);
        synchronized (deviceLock) {
            synchronized (this) {
                device.makeCurrent();
                device.upload(staged, slabAddress(id));
            }
        }
    }

    private DevicePtr slabAddress(int id) {
        if (!acquired.contains(id)) throw new IllegalStateException("KV block " + id + " is not in use");
        return slabs.get(id / SLAB).offset((id % SLAB) * blockBytes);
    }

    @Override
    public synchronized void close() {
        if (slabs.isEmpty()) return;
        device.makeCurrent();
        device.synchronize();
        slabs.values().forEach(device::free);
        slabs.clear();
        inUse.clear();
        acquired.clear();
    }
}
