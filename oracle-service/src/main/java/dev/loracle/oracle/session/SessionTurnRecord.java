package dev.loracle.oracle.session;

/**
 * One journaled session turn.
 *
 * @param sessionId        0x + 64 hex
 * @param requestId        journal id of the turn's request
 * @param snapshotCidHex   the on-chain snapshot CID (0x-hex, "0x" when none), null until the turn is fulfilled
 * @param endTxHash        the fulfillTurn transaction, whose calldata carries the output
 * @param outputHex        the fulfilled output (0x-hex) once known, else null
 */
public record SessionTurnRecord(String sessionId, int index, String requestId, SessionTurnStatus status, String head,
                                String snapshotCidHex, String endTxHash, String outputHex, String localHead,
                                String localSnapshotCidHex) {
}
