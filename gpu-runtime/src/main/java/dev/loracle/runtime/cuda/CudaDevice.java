package dev.loracle.runtime.cuda;

import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * One CUDA device through the driver API: its context and stream, raw allocation (cuMemAlloc, never managed memory),
 * cuMemGetInfo, and host<->device copies staged through pinned host memory with async copies. Driver contexts are
 * per thread in the driver API, so every public method makes the context current first; calls must not overlap
 * (the backend serialises them).
 */
public final class CudaDevice implements DeviceRuntime {
    /** Bytes of pinned staging; two halves alternate so the copy of one overlaps the fill of the other. */
    static final long STAGING_BYTES = 16L << 20;

    private final int ordinal;
    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final CUstream stream = new CUstream();
    private final String name;
    private final long totalBytes;
    private final int ccMajor;
    private final int ccMinor;
    private final int multiprocessors;
    private final Pointer staging = new Pointer();
    private final MemorySegment stagingSegment;
    private final CUevent[] stagingFree = {new CUevent(), new CUevent()};
    private final boolean[] stagingPending = new boolean[2];
    private boolean closed;

    private CudaDevice(int ordinal) {
        CudaProbe.Result probe = CudaProbe.require();
        if (ordinal < 0 || ordinal >= probe.deviceCount()) {
            throw new CudaUnavailableException("device cuda:" + ordinal + " does not exist (" + probe.deviceCount()
                    + " device(s) visible)");
        }
        this.ordinal = ordinal;
        check(JCudaDriver.cuDeviceGet(device, ordinal), "cuDeviceGet");
        byte[] nameBytes = new byte[256];
        check(JCudaDriver.cuDeviceGetName(nameBytes, nameBytes.length, device), "cuDeviceGetName");
        int len = 0;
        while (len < nameBytes.length && nameBytes[len] != 0) len++;
        this.name = new String(nameBytes, 0, len, StandardCharsets.US_ASCII);
        long[] total = new long[1];
        check(JCudaDriver.cuDeviceTotalMem(total, device), "cuDeviceTotalMem");
        this.totalBytes = total[0];
        this.ccMajor = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
        this.ccMinor = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        this.multiprocessors = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
        if (ccMajor < 8) {
            throw new CudaUnavailableException("device " + name + " has compute capability " + ccMajor + "." + ccMinor
                    + "; the kernels are built for compute_80 (Ampere) or newer");
        }
        // The device's primary context (shared, reference-counted), as the runtime API uses: no cuCtxCreate variant
        // questions across driver generations, and several CudaDevice instances in one process share it.
        check(JCudaDriver.cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain");
        int step = 0;
        try {
            check(JCudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent");
            check(JCudaDriver.cuStreamCreate(stream, 0), "cuStreamCreate");
            step = 1;
            check(JCudaDriver.cuMemAllocHost(staging, STAGING_BYTES), "cuMemAllocHost (pinned staging)");
            step = 2;
            this.stagingSegment = MemorySegment.ofBuffer(staging.getByteBuffer(0, STAGING_BYTES).order(ByteOrder.LITTLE_ENDIAN));
            for (CUevent e : stagingFree) check(JCudaDriver.cuEventCreate(e, 0), "cuEventCreate");
        } catch (RuntimeException e) {
            // undo what was made, newest first; the primary context reference goes last
            if (step >= 2) JCudaDriver.cuMemFreeHost(staging);
            if (step >= 1) JCudaDriver.cuStreamDestroy(stream);
            JCudaDriver.cuDevicePrimaryCtxRelease(device);
            throw e;
        }
    }

    /** Opens device {@code ordinal}; throws {@link CudaUnavailableException} with the reason when there is none. */
    public static CudaDevice open(int ordinal) {
        return new CudaDevice(ordinal);
    }

    @Override
    public String label() { return "cuda:" + ordinal; }

    public String name() { return name; }

    public long totalBytes() { return totalBytes; }

    public String computeCapability() { return ccMajor + "." + ccMinor; }

    public int multiprocessors() { return multiprocessors; }

    CUstream stream() { return stream; }

    /** Makes this device's context current on the calling thread. */
    @Override
    public void makeCurrent() {
        if (closed) throw new IllegalStateException("device " + label() + " is closed");
        check(JCudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent");
    }

    @Override
    public DevicePtr allocate(long bytes) {
        makeCurrent();
        JCudaPtr.Allocation p = new JCudaPtr.Allocation();
        int rc = JCudaDriver.cuMemAlloc(p, bytes);
        if (rc != CUresult.CUDA_SUCCESS) {
            long[] info = memGetInfo();
            throw new CudaException("cuMemAlloc of " + bytes + " bytes on " + label() + " failed: " + CUresult.stringFor(rc)
                    + " (driver reports " + info[0] + " of " + info[1] + " bytes free)");
        }
        return JCudaPtr.allocated(p);
    }

    @Override
    public void free(DevicePtr ptr) {
        makeCurrent();
        check(JCudaDriver.cuMemFree(JCudaPtr.of(ptr)), "cuMemFree");
    }

    @Override
    public long[] memGetInfo() {
        makeCurrent();
        long[] free = new long[1];
        long[] total = new long[1];
        check(JCudaDriver.cuMemGetInfo(free, total), "cuMemGetInfo");
        return new long[] {free[0], total[0]};
    }

    /** Copies {@code src} to device address {@code dst} through the pinned staging halves; returns when done. */
    @Override
    public void upload(MemorySegment src, DevicePtr dst) {
        makeCurrent();
        long half = STAGING_BYTES / 2;
        long size = src.byteSize();
        int turn = 0;
        for (long off = 0; off < size; off += half, turn ^= 1) {
            long n = Math.min(half, size - off);
            if (stagingPending[turn]) check(JCudaDriver.cuEventSynchronize(stagingFree[turn]), "cuEventSynchronize");
            MemorySegment.copy(src, off, stagingSegment, turn * half, n);
            check(JCudaDriver.cuMemcpyHtoDAsync(JCudaPtr.of(dst.offset(off)), staging.withByteOffset(turn * half), n, stream),
                    "cuMemcpyHtoDAsync");
            check(JCudaDriver.cuEventRecord(stagingFree[turn], stream), "cuEventRecord");
            stagingPending[turn] = true;
        }
        synchronize();
        stagingPending[0] = stagingPending[1] = false;
    }

    /** Copies {@code n} floats from the device to {@code dst} (after the work queued before it has run). */
    @Override
    public void downloadFloats(DevicePtr src, float[] dst, int n) {
        long bytes = 4L * n;
        if (bytes > STAGING_BYTES) throw new IllegalArgumentException("download of " + bytes + " bytes exceeds the staging buffer");
        makeCurrent();
        check(JCudaDriver.cuMemcpyDtoHAsync(staging, JCudaPtr.of(src), bytes, stream), "cuMemcpyDtoHAsync");
        synchronize();
        MemorySegment.copy(stagingSegment, ValueLayout.JAVA_FLOAT, 0, dst, 0, n);
    }

    /** Copies {@code bytes} from the device into {@code dst} (tests and digests). */
    @Override
    public void download(DevicePtr src, MemorySegment dst) {
        makeCurrent();
        long half = STAGING_BYTES;
        for (long off = 0; off < dst.byteSize(); off += half) {
            long n = Math.min(half, dst.byteSize() - off);
            check(JCudaDriver.cuMemcpyDtoHAsync(staging, JCudaPtr.of(src.offset(off)), n, stream), "cuMemcpyDtoHAsync");
            synchronize();
            MemorySegment.copy(stagingSegment, 0, dst, off, n);
        }
    }

    @Override
    public int downloadInt(DevicePtr src) {
        makeCurrent();
        int[] out = new int[1];
        check(JCudaDriver.cuMemcpyDtoHAsync(staging, JCudaPtr.of(src), 4, stream), "cuMemcpyDtoHAsync");
        synchronize();
        out[0] = stagingSegment.get(ValueLayout.JAVA_INT, 0);
        return out[0];
    }

    /** Queues a device-to-device copy on this device's stream. */
    public void copyAsync(DevicePtr src, DevicePtr dst, long bytes) {
        makeCurrent();
        check(JCudaDriver.cuMemcpyDtoDAsync(JCudaPtr.of(dst), JCudaPtr.of(src), bytes, stream), "cuMemcpyDtoDAsync");
    }

    @Override
    public void memsetZero(DevicePtr dst, long bytes) {
        makeCurrent();
        check(JCudaDriver.cuMemsetD8(JCudaPtr.of(dst), (byte) 0, bytes), "cuMemsetD8");
    }

    @Override
    public void synchronize() {
        check(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize");
    }

    /** Milliseconds the device spent on {@code work} (CUDA events around it on the stream). */
    public float timeMillis(Runnable work) {
        makeCurrent();
        CUevent start = new CUevent();
        CUevent stop = new CUevent();
        check(JCudaDriver.cuEventCreate(start, 0), "cuEventCreate");
        check(JCudaDriver.cuEventCreate(stop, 0), "cuEventCreate");
        try {
            check(JCudaDriver.cuEventRecord(start, stream), "cuEventRecord");
            work.run();
            check(JCudaDriver.cuEventRecord(stop, stream), "cuEventRecord");
            check(JCudaDriver.cuEventSynchronize(stop), "cuEventSynchronize");
            float[] ms = new float[1];
            check(JCudaDriver.cuEventElapsedTime(ms, start, stop), "cuEventElapsedTime");
            return ms[0];
        } finally {
            JCudaDriver.cuEventDestroy(start);
            JCudaDriver.cuEventDestroy(stop);
        }
    }

    @Override
    public void close() {
        if (closed) return;
        makeCurrent();
        JCudaDriver.cuStreamSynchronize(stream);
        for (CUevent e : stagingFree) JCudaDriver.cuEventDestroy(e);
        JCudaDriver.cuMemFreeHost(staging);
        JCudaDriver.cuStreamDestroy(stream);
        JCudaDriver.cuDevicePrimaryCtxRelease(device);
        closed = true;
    }

    @Override
    public String toString() {
        return label() + " " + name + " (compute " + computeCapability() + ", " + (totalBytes >> 20) + " MiB)";
    }

    private int attribute(int attr) {
        int[] v = new int[1];
        check(JCudaDriver.cuDeviceGetAttribute(v, attr, device), "cuDeviceGetAttribute");
        return v[0];
    }

    static void check(int rc, String call) {
        if (rc != CUresult.CUDA_SUCCESS) throw new CudaException(call + " failed: " + CUresult.stringFor(rc));
    }
}
