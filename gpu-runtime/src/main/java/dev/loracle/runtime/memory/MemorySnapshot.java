package dev.loracle.runtime.memory;

/** A consistent view of a {@link MemoryBudget} for metrics; {@code free = max(0, redLine - used)}. */
public record MemorySnapshot(String device, long baseBytes, long adapterBytes, long workingCopyBytes, long kvCacheBytes,
                             long scratchBytes, long usedBytes, long redLineBytes, long freeBytes) {}
