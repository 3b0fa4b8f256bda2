package dev.loracle.oracle.journal;

import java.math.BigInteger;
import java.util.List;

/** One nonce use by the oracle: the logical transaction, with every hash it was broadcast under (fee bumps). */
public record TxRecord(long id, String requestId, TxKind kind, long nonce, String txHash, List<String> hashes, String rawTx,
                       BigInteger maxFee, BigInteger priorityFee, long gasLimit, TxStatus status, Long blockNumber,
                       String blockHash, Long gasUsed, BigInteger feePaidWei, int broadcasts, long createdAt, long lastSentAt) {

    /** WITHDRAW: the oracle collecting its credited fees (request id {@code withdraw-<millis>}). */
    public enum TxKind { FULFIL, FAILURE, WITHDRAW }

    /** PENDING: sent, no receipt. MINED: receipt seen, waiting for confirmations. CONFIRMED / REVERTED: final.
     *  SUPERSEDED: its nonce was used by another of our txs (e.g. a re-submission after a reorg). */
    public enum TxStatus { PENDING, MINED, CONFIRMED, REVERTED, SUPERSEDED;
        public boolean open() { return this == PENDING || this == MINED; } }
}
