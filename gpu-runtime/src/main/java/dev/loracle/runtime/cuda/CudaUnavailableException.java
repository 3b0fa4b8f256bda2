package dev.loracle.runtime.cuda;

/** The CUDA backend cannot run here; {@link #reason()} says why (no JCuda natives, no libcuda.so.1, no device, ...). */
public class CudaUnavailableException extends RuntimeException {
    private final String reason;

    public CudaUnavailableException(String reason) {
        super("CUDA backend unavailable: " + reason);
        this.reason = reason;
    }

    public CudaUnavailableException(String reason, Throwable cause) {
        super("CUDA backend unavailable: " + reason, cause);
        this.reason = reason;
    }

    /** The short reason without the prefix, e.g. "NVIDIA driver library libcuda.so.1 not found". */
    public String reason() { return reason; }
}
