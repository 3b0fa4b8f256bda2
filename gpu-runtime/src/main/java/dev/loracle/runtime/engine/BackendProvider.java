package dev.loracle.runtime.engine;

import dev.loracle.runtime.memory.MemoryBudget;

/**
 * Service-provider hook for non-CPU backends ({@code META-INF/services/dev.loracle.runtime.engine.BackendProvider}),
 * so that the engine picks up e.g. a CUDA backend without depending on it. AUTO uses the first available provider.
 */
public interface BackendProvider {
    /** The kind this provider serves (CUDA). */
    BackendKind kind();

    /** Null when usable, else why not (no driver, no device...), shown to the user. */
    String unavailableReason();

    Backend create(EngineConfig config, MemoryBudget budget);
}
