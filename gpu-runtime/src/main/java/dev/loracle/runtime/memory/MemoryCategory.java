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
    SCRATCH
}
