package dev.loracle.oracle.chain;

import dev.loracle.oracle.journal.TxRecord;

/** Told by the transaction manager when one of the oracle's transactions reaches a final outcome. */
public interface TxOutcomeListener {
    /** The tx is mined with the configured confirmations; {@code success} = receipt status 1. */
    void onFinal(TxRecord tx, boolean success);

    /** The nonce was consumed by something else and none of this tx's hashes was mined: the work must be re-decided. */
    void onSuperseded(TxRecord tx);
}
