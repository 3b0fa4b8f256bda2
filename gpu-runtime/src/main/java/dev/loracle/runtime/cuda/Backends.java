package dev.loracle.runtime.cuda;

import dev.loracle.runtime.engine.BackendKind;

import java.util.Objects;

/**
 * Resolves the configured backend kind against this machine: AUTO -> CUDA when a device is usable, else CPU (the
 * log line says which and why); CUDA -> CUDA or a {@link CudaUnavailableException} naming the reason; CPU -> CPU.
 */
public final class Backends {
    private static final System.Logger LOG = System.getLogger(Backends.class.getName());

    /** The outcome: the kind that will run and the human reason, as logged. */
    public record Selection(BackendKind kind, String reason) {}

    private Backends() {}

    public static Selection select(BackendKind requested) {
        return select(requested, CudaProbe.probe());
    }

    static Selection select(BackendKind requested, CudaProbe.Result probe) {
        Objects.requireNonNull(requested, "requested");
        Selection s = switch (requested) {
            case CPU -> new Selection(BackendKind.CPU, "backend cpu requested");
            case CUDA -> {
                if (!probe.available()) {
                    throw new CudaUnavailableException(probe.reason() + " (backend cuda was requested explicitly; use "
                            + "backend auto to fall back to the CPU)");
                }
                yield new Selection(BackendKind.CUDA, "backend cuda requested; " + probe.deviceCount()
                        + " CUDA device(s), driver CUDA " + probe.driverVersionText());
            }
            case AUTO -> probe.available()
                    ? new Selection(BackendKind.CUDA, "backend auto: using CUDA (" + probe.deviceCount()
                            + " device(s), driver CUDA " + probe.driverVersionText() + ")")
                    : new Selection(BackendKind.CPU, "backend auto: using CPU because " + probe.reason());
        };
        LOG.log(System.Logger.Level.INFO, s.reason());
        return s;
    }
}
