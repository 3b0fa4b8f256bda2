package dev.loracle.runtime.cuda;

/** A CUDA driver call failed on a device that was usable; the message names the call and the CUresult. */
public class CudaException extends RuntimeException {
    public CudaException(String message) {
        super(message);
    }

    public CudaException(String message, Throwable cause) {
        super(message, cause);
    }
}
