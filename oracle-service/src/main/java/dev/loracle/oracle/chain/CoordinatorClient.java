package dev.loracle.oracle.chain;

import dev.loracle.oracle.journal.InferenceSpec;
import dev.loracle.oracle.journal.TxRecord;
import org.web3j.utils.Numeric;

import java.math.BigInteger;

/** The coordinator calls the pipeline makes: the isPending check, fulfil and reportFailure (through the tx manager). */
public class CoordinatorClient {
    private final TransactionManager tx;
    private final OracleActivity activity = new OracleActivity();

    public CoordinatorClient(TransactionManager tx) {
        this.tx = tx;
    }

    /** Which oracles were seen ending requests on-chain lately (fed by the chain ingestion). */
    public OracleActivity oracleActivity() {
        return activity;
    }

    public String oracleAddress() {
        return tx.address();
    }

    public boolean isPending(BigInteger requestId) {
        return CoordinatorAbi.decodeIsPending(tx.call(CoordinatorAbi.encodeIsPending(requestId)));
    }

    /** Whether {@code account} is a registered oracle of the coordinator now. */
    public boolean isOracle(String account) {
        return CoordinatorAbi.decodeBool(tx.call(CoordinatorAbi.encodeIsOracle(account)));
    }

    /** A model as the coordinator's registry has it. */
    public record RegisteredModel(byte[] weightsHash, String profile) {
    }

    /** The registered weights hash and numeric profile of a model, or null when it is not registered. */
    public RegisteredModel model(String modelIdHex) {
        return CoordinatorAbi.decodeModel(tx.call(CoordinatorAbi.encodeModels(Numeric.hexStringToByteArray(modelIdHex))));
    }

    public TxRecord fulfil(InferenceSpec spec, byte[] output, byte[] resultCommitment) {
        return tx.send(spec.id(), TxRecord.TxKind.FULFIL, CoordinatorAbi.encodeFulfill(spec, output, resultCommitment));
    }

    /** A session turn's fulfilment: the output plus the session's new head and the turn's snapshot CID (may be empty). */
    public TxRecord fulfilTurn(InferenceSpec spec, byte[] output, byte[] resultCommitment, byte[] head, byte[] snapshotCid) {
        return tx.send(spec.id(), TxRecord.TxKind.FULFIL, CoordinatorAbi.encodeFulfillTurn(spec, output, resultCommitment, head, snapshotCid));
    }

    /** Which session turn a request is, as the coordinator records it ({@code sessionId} 0: an ordinary request). */
    public record TurnRef(BigInteger sessionId, int index) {
        public boolean isTurn() {
            return sessionId.signum() != 0;
        }
    }

    public TurnRef turnOf(BigInteger requestId) {
        return CoordinatorAbi.decodeTurns(tx.call(CoordinatorAbi.encodeTurns(requestId)));
    }

    /**
     * The output a session turn was fulfilled with, read from its fulfillTurn transaction's calldata. Empty when the
     * transaction is unknown or was not a direct fulfillTurn call.
     */
    public java.util.Optional<byte[]> fulfilledTurnOutput(String txHash) {
        return tx.transactionInput(txHash).flatMap(CoordinatorAbi::decodeFulfillTurnOutput);
    }

    public TxRecord reportFailure(InferenceSpec spec, int code, String reason) {
        return tx.send(spec.id(), TxRecord.TxKind.FAILURE, CoordinatorAbi.encodeReportFailure(spec, code, reason));
    }

    /** Fees credited to this oracle and not yet withdrawn, in wei. */
    public BigInteger unclaimedCredits() {
        return CoordinatorAbi.decodeUint(tx.call(CoordinatorAbi.encodeCredits(oracleAddress())));
    }

    /** The oracle account's ETH balance (what pays for gas), in wei. */
    public BigInteger balance() {
        return tx.balance();
    }

    /** Sends withdraw() for this oracle's credits; throws {@link RpcErrorException} when there is nothing to withdraw. */
    public TxRecord withdraw(long nowMillis) {
        return tx.send("withdraw-" + nowMillis, TxRecord.TxKind.WITHDRAW, CoordinatorAbi.encodeWithdraw());
    }

    public TransactionManager transactions() {
        return tx;
    }
}
