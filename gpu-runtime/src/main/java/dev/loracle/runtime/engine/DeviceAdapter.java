package dev.loracle.runtime.engine;

import dev.loracle.runtime.lora.LoraAdapter;

/**
 * One adapter's A and B matrices resident on a backend (uploaded once by {@link Backend#upload}, shared by every
 * sequence that uses the adapter), with the ADAPTER bytes it reserved. {@link #close()} frees both.
 */
public interface DeviceAdapter extends AutoCloseable {
    LoraAdapter adapter();

    /** Bytes reserved for the resident copy. */
    long bytes();

    boolean closed();

    @Override
    void close();
}
