package dev.loracle.runtime.cuda;

/**
 * An address in device memory. The JCuda implementation wraps a {@code CUdeviceptr}; host-side tests use a plain
 * number, so the allocation accounting and the kernel-argument packing can be tested without a GPU.
 */
public interface DevicePtr {
    /** The address {@code bytes} further on (a view: freeing goes through the buffer that owns the base address). */
    DevicePtr offset(long bytes);

    /** The numeric device address (entries of device-side pointer tables: KV block tables, adapter members). */
    long address();
}
