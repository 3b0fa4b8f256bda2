package dev.loracle.ipfs;

/** Valid IPFS content in a form this module deliberately does not handle (e.g. HAMT-sharded directories). */
public class UnsupportedContentException extends IpfsException {
    public UnsupportedContentException(String message) {
        super(message);
    }
}
