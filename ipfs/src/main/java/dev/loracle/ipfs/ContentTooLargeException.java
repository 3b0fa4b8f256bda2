package dev.loracle.ipfs;

/** The content (or the CAR carrying it) exceeds the configured size limit. */
public class ContentTooLargeException extends IpfsException {
    private final long limitBytes;

    public ContentTooLargeException(String what, long limitBytes) {
        super(what + " exceeds the configured limit of " + limitBytes + " bytes");
        this.limitBytes = limitBytes;
    }

    public long limitBytes() {
        return limitBytes;
    }
}
