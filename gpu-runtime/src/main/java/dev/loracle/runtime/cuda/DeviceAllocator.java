package dev.loracle.runtime.cuda;

/** Raw device allocation, below the accounting of {@link DeviceMemoryPool}: cuMemAlloc/cuMemFree on a GPU. */
public interface DeviceAllocator {
    /** Allocates {@code bytes} (> 0) of device memory; throws {@link CudaException} when the device refuses. */
    DevicePtr allocate(long bytes);

    void free(DevicePtr ptr);

    /** Free and total device memory as the driver reports them (cuMemGetInfo), {free, total}. */
    long[] memGetInfo();
}
