package dev.loracle.runtime.cuda;

import dev.loracle.runtime.tensor.GgmlType;

/** A weight matrix resident on the device: GGML layout, [rows x cols], rows of cols/blockSize blocks. */
record DeviceTensor(String name, GgmlType type, int rows, int cols, DeviceBuffer buffer) {
    long byteSize() { return (long) rows * type.bytesFor(cols); }

    long rowBytes() { return type.bytesFor(cols); }

    DevicePtr ptr() { return buffer.ptr(); }
}
