package dev.loracle.runtime.engine;

import dev.loracle.runtime.lora.LoraAdapter;
import dev.loracle.runtime.lora.LoraTarget;
import dev.loracle.runtime.lora.ModelShape;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Adapters resident on the backend, by content identity ({@link LoraAdapter#id()}), reference-counted (S-LoRA's
 * unified adapter pool, vLLM's resident slots): the first {@link #load} validates and uploads A/B once, later loads of
 * the same id share it, and the last {@link ResidentAdapter#close()} frees it, so accounted memory returns to the base
 * figure when nothing is loaded. Thread-safe.
 */
public final class AdapterStore {
    private final Backend backend;
    private final ModelShape shape;
    private final Map<String, Entry> byId = new HashMap<>();

    static final class Entry {
        final DeviceAdapter device;
        final byte[] contentDigest;   // what KV prefix hashes name the adapter by (content, not its id)
        int references;

        Entry(DeviceAdapter device, byte[] contentDigest) {
            this.device = device;
            this.contentDigest = contentDigest;
        }
    }

    AdapterStore(Backend backend, ModelShape shape) {
        this.backend = backend;
        this.shape = shape;
    }

    /**
     * A reference to {@code adapter} resident on the backend. Validates shapes against the model and that every
     * value is finite (AdapterValidationException); reserves ADAPTER bytes on first load (RedLineExceededException).
     */
    public ResidentAdapter load(LoraAdapter adapter) {
        Objects.requireNonNull(adapter, "adapter");
        synchronized (this) {
            Entry e = byId.get(adapter.id());
            if (e != null) return retain(e);
        }
        adapter.validateAgainst(shape);
        for (LoraTarget t : adapter.targets()) FiniteCheck.requireFinite(adapter.id(), t);
        byte[] digest = AdapterDigest.of(adapter);
        DeviceAdapter device = backend.upload(adapter);
        synchronized (this) {
            Entry e = byId.get(adapter.id());
            if (e != null) { // loaded meanwhile by another thread: keep theirs
                device.close();
                return retain(e);
            }
            e = new Entry(device, digest);
            byId.put(adapter.id(), e);
            return retain(e);
        }
    }

    synchronized ResidentAdapter retain(Entry e) {
        e.references++;
        return new ResidentAdapter(this, e);
    }

    synchronized void release(Entry e) {
        if (--e.references == 0) {
            byId.remove(e.device.adapter().id());
            e.device.close();
        }
    }

    /** Adapters resident now. */
    public synchronized int size() { return byId.size(); }

    /** Backend bytes of the resident adapter {@code id} (0 when not resident). */
    public synchronized long residentBytes(String id) {
        Entry e = byId.get(id);
        return e == null ? 0 : e.device.bytes();
    }

    /** References held on {@code id} (0 when not resident). */
    public synchronized int references(String id) {
        Entry e = byId.get(id);
        return e == null ? 0 : e.references;
    }

    /** Whether {@code handle} came from this store (engines must not mix adapters of another backend). */
    boolean owns(ResidentAdapter handle) {
        synchronized (this) {
            return byId.get(handle.id()) == handle.entry;
        }
    }
}
