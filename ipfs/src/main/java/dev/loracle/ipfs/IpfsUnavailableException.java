package dev.loracle.ipfs;

/** Every configured endpoint failed (unreachable, breaker open, or returned bad data); causes are suppressed. */
public class IpfsUnavailableException extends IpfsException {
    public IpfsUnavailableException(String message) {
        super(message);
    }
}
