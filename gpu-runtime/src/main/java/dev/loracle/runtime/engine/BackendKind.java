package dev.loracle.runtime.engine;

/** Which backend runs the kernels. AUTO: CUDA when a provider reports a usable device, else CPU. */
public enum BackendKind {
    AUTO, CPU, CUDA;

    public static BackendKind parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown backend '" + s + "' (expected auto, cpu or cuda)");
        }
    }
}
