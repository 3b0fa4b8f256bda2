package dev.loracle.runtime.cuda;

import java.lang.foreign.MemorySegment;

/**
 * What the CUDA model needs from a device besides kernels: allocation, copies, synchronisation. {@link CudaDevice}
 * is the real one; the test suite also runs the same model code on a host emulation of the kernels through it.
 */
public interface DeviceRuntime extends DeviceAllocator, AutoCloseable {
    /** e.g. "cuda:0". */
    String label();

    /** Makes this device's context current on the calling thread (driver API contexts are per thread). */
    void makeCurrent();

    /** Copies {@code src} to device address {@code dst}; returns when done. */
    void upload(MemorySegment src, DevicePtr dst);

    /** Copies {@code n} floats from the device after the queued work has run. */
    void downloadFloats(DevicePtr src, float[] dst, int n);

    int downloadInt(DevicePtr src);

    /** Copies {@code dst.byteSize()} bytes from the device. */
    void download(DevicePtr src, MemorySegment dst);

    void memsetZero(DevicePtr dst, long bytes);

    /** Waits for all queued work. */
    void synchronize();

    @Override
    void close();
}
