package dev.loracle.ipfs;

import java.time.Duration;

/** No endpoint produced the content within its timeout: the network (or node) does not have the CID. */
public class ContentNotFoundException extends IpfsException {
    private final Cid cid;

    public ContentNotFoundException(Cid cid, Duration timeout, String detail) {
        super("content " + cid + " not found within " + timeout.toMillis() + " ms: " + detail);
        this.cid = cid;
    }

    public ContentNotFoundException(Cid cid, String detail) {
        super("content " + cid + " not found: " + detail);
        this.cid = cid;
    }

    public Cid cid() {
        return cid;
    }
}
