package dev.loracle.ipfs;

/** The endpoint could not be reached or the connection failed mid-call: transient, worth a retry or failover. */
public class IpfsTransportException extends IpfsException {
    public IpfsTransportException(String message, Throwable cause) {
        super(message, cause);
    }
}
