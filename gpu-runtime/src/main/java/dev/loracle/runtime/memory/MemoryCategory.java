package dev.loracle.runtime.memory;

/** What a reservation holds. */
public enum MemoryCategory {
    /** The resident base model; reserved once at load. */
    BASE_WEIGHTS,
    /** An attached adapter's A/B matrices. */
    ADAPTER,
    /** Copy-on-write working copies of merged tensors. */
    WORKING_COPY,
    /** Key/value caches of running generations. */
    KV_CACHE,
    /** Activations and other per-generation buffers. */
    SCRATCH,
    /**
     * Host copies kept only for reuse and dropped when room is needed (a node's parsed adapters). Reserved in a budget of
     * its own, never in a device's: that device's figure must still return to its base when nothing runs.
     */
    HOST_CACHE
}
