package dev.loracle.oracle.verify;

import dev.loracle.contracts.generated.InferenceCoordinator;
import org.web3j.abi.EventEncoder;
import org.web3j.protocol.Web3j;
import org.web3j.protocol.core.DefaultBlockParameter;
import org.web3j.protocol.core.DefaultBlockParameterName;
import org.web3j.protocol.core.methods.request.EthFilter;
import org.web3j.protocol.core.methods.response.EthLog;
import org.web3j.protocol.core.methods.response.Log;
import org.web3j.utils.Numeric;

import java.io.IOException;
import java.math.BigInteger;
import java.util.Arrays;
import java.util.List;

/**
 * A request and its fulfilment as the chain has them: the request from its {@code InferenceRequested} event, the output
 * and commitment from the calldata of the {@code fulfill} transaction that emitted {@code InferenceFulfilled} (the event
 * carries only the output's hash), and the model's registered weights hash and numeric profile.
 */
record OnChainResult(BigInteger requestId, InferenceCoordinator.InferenceRequest request, byte[] output,
                     byte[] resultCommitment, String fulfilTx, String oracle, byte[] weightsHash, String profile) {

    /** Thrown when the chain does not hold what a check needs (exit code 2). */
    static final class Unavailable extends Exception {
        Unavailable(String message) {
            super(message);
        }
    }

    static OnChainResult read(Web3j web3j, String coordinator, BigInteger requestId, long fromBlock)
            throws IOException, Unavailable {
        String idTopic = Numeric.toHexStringWithPrefixZeroPadded(requestId, 64);
        Log requested = single(web3j, coordinator, fromBlock, EventEncoder.encode(InferenceCoordinator.INFERENCEREQUESTED_EVENT),
                idTopic, "InferenceRequested");
        InferenceCoordinator.InferenceRequest request = InferenceCoordinator.getInferenceRequestedEventFromLog(requested).request;
        Log fulfilled;
        try {
            fulfilled = single(web3j, coordinator, fromBlock, EventEncoder.encode(InferenceCoordinator.INFERENCEFULFILLED_EVENT),
                    idTopic, "InferenceFulfilled");
        } catch (Unavailable none) {
            throw new Unavailable("request " + idTopic + " has no fulfilment on-chain (still pending, failed or cancelled)");
        }
        var event = InferenceCoordinator.getInferenceFulfilledEventFromLog(fulfilled);
        var tx = web3j.ethGetTransactionByHash(fulfilled.getTransactionHash()).send().getTransaction()
                .orElseThrow(() -> new Unavailable("fulfil transaction " + fulfilled.getTransactionHash() + " not found"));
        byte[] args = Numeric.hexStringToByteArray(tx.getInput().substring(10));
        byte[] output = dynamicBytes(args, 2);
        byte[] commitment = Arrays.copyOfRange(args, 3 * 32, 4 * 32);
        if (!Arrays.equals(org.web3j.crypto.Hash.sha3(output), event.outputHash)) {
            throw new Unavailable("the fulfil transaction's output does not hash to the event's outputHash (not a direct fulfill call)");
        }
        org.web3j.tuples.generated.Tuple9<byte[], BigInteger, BigInteger, BigInteger, BigInteger, BigInteger, Boolean, String, String> model;
        try {
            model = InferenceCoordinator.load(coordinator, web3j, new org.web3j.tx.ReadonlyTransactionManager(web3j, coordinator),
                    new org.web3j.tx.gas.DefaultGasProvider()).models(request.modelId).send();
        } catch (Exception e) {
            throw new Unavailable("the model registry could not be read: " + e.getMessage());
        }
        return new OnChainResult(requestId, request, output, commitment, tx.getHash(), event.oracle, model.component1(),
                model.component9());
    }

    private static Log single(Web3j web3j, String coordinator, long fromBlock, String eventTopic, String idTopic, String what)
            throws IOException, Unavailable {
        List<Log> found = logs(web3j, coordinator, fromBlock, eventTopic, idTopic);
        if (found.isEmpty()) throw new Unavailable("no " + what + " event for request " + idTopic + " on coordinator " + coordinator);
        return found.getLast();
    }

    /** The coordinator's {@code eventTopic} logs whose first indexed argument is {@code topic1}, oldest first. */
    static List<Log> logs(Web3j web3j, String coordinator, long fromBlock, String eventTopic, String topic1)
            throws IOException, Unavailable {
        EthFilter filter = new EthFilter(DefaultBlockParameter.valueOf(BigInteger.valueOf(fromBlock)),
                DefaultBlockParameterName.LATEST, coordinator);
        filter.addSingleTopic(eventTopic);
        filter.addSingleTopic(topic1);
        EthLog logs = web3j.ethGetLogs(filter).send();
        if (logs.hasError()) throw new Unavailable("eth_getLogs failed: " + logs.getError().getMessage() + " (try --from-block)");
        return logs.getLogs().stream().map(r -> (Log) r.get()).filter(l -> !l.isRemoved()).toList();
    }

    /** The {@code bytes} argument at head slot {@code index} of ABI-encoded arguments. */
    private static byte[] dynamicBytes(byte[] args, int index) {
        int offset = new BigInteger(1, Arrays.copyOfRange(args, index * 32, index * 32 + 32)).intValueExact();
        int length = new BigInteger(1, Arrays.copyOfRange(args, offset, offset + 32)).intValueExact();
        return Arrays.copyOfRange(args, offset + 32, offset + 32 + length);
    }
}
