package dev.loracle.runtime.memory;

/** A reservation that would take a device's accounted memory above its red line. */
public class RedLineExceededException extends RuntimeException {
    private final String device;
    private final MemoryCategory category;
    private final String owner;
    private final long requestedBytes;
    private final long usedBytes;
    private final long redLineBytes;

    public RedLineExceededException(String message, String device, MemoryCategory category, String owner,
                                    long requestedBytes, long usedBytes, long redLineBytes) {
        super(message);
        this.device = device;
        this.category = category;
        this.owner = owner;
        this.requestedBytes = requestedBytes;
        this.usedBytes = usedBytes;
        this.redLineBytes = redLineBytes;
    }

    public String device() { return device; }

    public MemoryCategory category() { return category; }

    public String owner() { return owner; }

    public long requestedBytes() { return requestedBytes; }

    /** Accounted bytes when the reservation was refused. */
    public long usedBytes() { return usedBytes; }

    public long redLineBytes() { return redLineBytes; }
}
