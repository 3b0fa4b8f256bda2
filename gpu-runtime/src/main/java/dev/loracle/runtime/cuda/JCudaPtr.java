package dev.loracle.runtime.cuda;

import jcuda.driver.CUdeviceptr;

import java.util.Objects;

/** A {@link DevicePtr} backed by JCuda's {@code CUdeviceptr}. */
record JCudaPtr(CUdeviceptr ptr) implements DevicePtr {
    JCudaPtr {
        Objects.requireNonNull(ptr, "ptr");
    }

    @Override
    public DevicePtr offset(long bytes) {
        return bytes == 0 ? this : new JCudaPtr(ptr.withByteOffset(bytes));
    }

    static CUdeviceptr of(DevicePtr p) {
        if (p instanceof JCudaPtr j) return j.ptr;
        throw new IllegalArgumentException("not a JCuda device pointer: " + p);
    }
}
