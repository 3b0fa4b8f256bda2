package dev.loracle.runtime.cuda;

/** A device address that is just a number: host-side tests of packing and accounting, no GPU involved. */
record FakeDevicePtr(long address) implements DevicePtr {
    @Override
    public DevicePtr offset(long bytes) {
        return new FakeDevicePtr(address + bytes);
    }
}
