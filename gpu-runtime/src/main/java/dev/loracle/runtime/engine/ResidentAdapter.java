package dev.loracle.runtime.engine;

import dev.loracle.runtime.lora.LoraAdapter;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One reference to an adapter resident on the engine's backend, from {@link AdapterStore#load}. Several handles may
 * share one resident copy (same {@link LoraAdapter#id()}); closing a handle drops its reference (idempotent), and the
 * last one frees the copy and its ADAPTER bytes. Sequences that use the adapter hold their own reference while they
 * run, so closing a handle never disturbs a running sequence.
 */
public final class ResidentAdapter implements AutoCloseable {
    private final AdapterStore store;
    final AdapterStore.Entry entry;
    private final AtomicBoolean open = new AtomicBoolean(true);

    ResidentAdapter(AdapterStore store, AdapterStore.Entry entry) {
        this.store = store;
        this.entry = entry;
    }

    public String id() { return entry.device.adapter().id(); }

    public LoraAdapter adapter() { return entry.device.adapter(); }

    /** Bytes of the resident copy (shared by every handle of this adapter). */
    public long bytes() { return entry.device.bytes(); }

    /** SHA-256 of the adapter's content (targets, shapes, scales, A and B): its identity in KV prefix hashes. */
    public byte[] contentDigest() { return entry.contentDigest.clone(); }

    public boolean isOpen() { return open.get(); }

    DeviceAdapter device() {
        if (!open.get()) throw new IllegalStateException("adapter handle " + id() + " is closed");
        return entry.device;
    }

    /** Another reference to the same resident copy (for a sequence), or fails when this handle is closed. */
    ResidentAdapter share() {
        if (!open.get()) throw new IllegalStateException("adapter handle " + id() + " is closed");
        return store.retain(entry);
    }

    @Override
    public void close() {
        if (open.compareAndSet(true, false)) store.release(entry);
    }

    @Override
    public String toString() { return "ResidentAdapter[" + id() + (open.get() ? "" : ", closed") + "]"; }
}
