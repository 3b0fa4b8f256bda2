package dev.loracle.runtime.cuda;

import jcuda.driver.CUdeviceptr;

import java.util.Objects;

/** A {@link DevicePtr} backed by JCuda's {@code CUdeviceptr}, with its numeric address (for device-side pointer tables). */
record JCudaPtr(CUdeviceptr ptr, long address) implements DevicePtr {
    JCudaPtr {
        Objects.requireNonNull(ptr, "ptr");
    }

    /** A fresh allocation target for cuMemAlloc whose address can be read back afterwards. */
    static final class Allocation extends CUdeviceptr {
        long address() { return getNativePointer(); }
    }

    static JCudaPtr allocated(Allocation a) { return new JCudaPtr(a, a.address()); }

    @Override
    public DevicePtr offset(long bytes) {
        return bytes == 0 ? this : new JCudaPtr(ptr.withByteOffset(bytes), address + bytes);
    }

    static CUdeviceptr of(DevicePtr p) {
        if (p instanceof JCudaPtr j) return j.ptr;
        throw new IllegalArgumentException("not a JCuda device pointer: " + p);
    }
}
