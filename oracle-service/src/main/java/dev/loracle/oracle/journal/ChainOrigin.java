package dev.loracle.oracle.journal;

/** Where an on-chain request's event was seen; re-checked against the canonical chain for reorgs. */
public record ChainOrigin(long blockNumber, String blockHash, long logIndex, String txHash) {
}
