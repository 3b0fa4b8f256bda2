package dev.loracle.runtime.engine;

import dev.loracle.runtime.memory.MemoryBudget;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/** Picks the backend an {@link EngineConfig} asks for: CPU, or a provider found by ServiceLoader (CUDA). */
final class BackendSelection {
    private static final System.Logger LOG = System.getLogger(InferenceEngine.class.getName());

    private BackendSelection() {}

    static Backend create(EngineConfig cfg) {
        Backend b = select(cfg);
        LOG.log(System.Logger.Level.INFO, "backend " + cfg.backend().name().toLowerCase() + ": using " + b.name() + " (" + b.description() + ")");
        return b;
    }

    private static Backend select(EngineConfig cfg) {
        if (cfg.backend() != BackendKind.CPU) {
            List<String> reasons = new ArrayList<>();
            for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) {
                if (cfg.backend() != BackendKind.AUTO && p.kind() != cfg.backend()) continue;
                String why = p.unavailableReason();
                if (why == null) {
                    String device = p.kind().name().toLowerCase() + ":0";
                    return p.create(cfg, new MemoryBudget(device, cfg.redLineBytes()));
                }
                reasons.add(p.kind() + ": " + why);
            }
            if (cfg.backend() != BackendKind.AUTO) {
                throw new IllegalStateException("backend " + cfg.backend() + " is not available"
                        + (reasons.isEmpty() ? " (no provider for it in this build)" : ": " + String.join("; ", reasons)));
            }
            LOG.log(System.Logger.Level.INFO, "backend auto: using CPU because "
                    + (reasons.isEmpty() ? "no other backend is installed" : String.join("; ", reasons)));
        }
        return new CpuBackend(cfg.threads(), cfg.dotMode(), new MemoryBudget("cpu", cfg.redLineBytes()));
    }
}
