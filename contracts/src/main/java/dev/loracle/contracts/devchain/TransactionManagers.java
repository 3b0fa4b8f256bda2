package dev.loracle.contracts.devchain;

import java.time.Duration;
import org.web3j.crypto.Credentials;
import org.web3j.protocol.Web3j;
import org.web3j.tx.RawTransactionManager;
import org.web3j.tx.TransactionManager;
import org.web3j.tx.response.PollingTransactionReceiptProcessor;

/**
 * Transaction managers that poll for receipts quickly. web3j's default polls every 15 s, which turns a local-chain
 * transaction (mined in milliseconds with automine, within a second with --block-time 1) into a 15 s wait.
 */
public final class TransactionManagers {
    /** Receipt polling interval used against local chains. */
    public static final Duration DEV_POLL_INTERVAL = Duration.ofMillis(50);
    /** How long to wait for a receipt before giving up. */
    public static final Duration DEV_RECEIPT_TIMEOUT = Duration.ofSeconds(60);

    private TransactionManagers() {}

    /** Signs locally with {@code credentials} for {@code chainId}; polls every 50 ms for up to 60 s. */
    public static TransactionManager fastPolling(Web3j web3j, Credentials credentials, long chainId) {
        return fastPolling(web3j, credentials, chainId, DEV_POLL_INTERVAL, DEV_RECEIPT_TIMEOUT);
    }

    /** Signs locally with {@code credentials}; polls every {@code interval} until {@code timeout}. */
    public static TransactionManager fastPolling(Web3j web3j, Credentials credentials, long chainId,
            Duration interval, Duration timeout) {
        long intervalMs = Math.max(1, interval.toMillis());
        int attempts = (int) Math.max(1, timeout.toMillis() / intervalMs);
        return new RawTransactionManager(web3j, credentials, chainId,
                new PollingTransactionReceiptProcessor(web3j, intervalMs, attempts));
    }
}
