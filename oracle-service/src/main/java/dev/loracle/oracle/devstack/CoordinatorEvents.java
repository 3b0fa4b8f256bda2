package dev.loracle.oracle.devstack;

import dev.loracle.contracts.generated.InferenceCoordinator;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.web3j.abi.EventEncoder;
import org.web3j.protocol.Web3j;
import org.web3j.protocol.core.DefaultBlockParameter;
import org.web3j.protocol.core.DefaultBlockParameterName;
import org.web3j.protocol.core.methods.request.EthFilter;
import org.web3j.protocol.core.methods.response.EthLog;
import org.web3j.protocol.core.methods.response.Log;
import org.web3j.utils.Numeric;

/**
 * Reads the coordinator's outcome events from the canonical chain ({@code eth_getLogs}): how each request ended, in
 * which transaction, and how many times (the tests' "exactly once" check).
 */
public final class CoordinatorEvents {
    private static final String FULFILLED = EventEncoder.encode(InferenceCoordinator.INFERENCEFULFILLED_EVENT);
    private static final String FAILED = EventEncoder.encode(InferenceCoordinator.INFERENCEFAILED_EVENT);
    private static final String REQUESTED = EventEncoder.encode(InferenceCoordinator.INFERENCEREQUESTED_EVENT);

    /** One outcome event. */
    public record Outcome(BigInteger requestId, boolean fulfilled, int failureCode, String reason,
            boolean callbackSucceeded, String txHash, long blockNumber, String oracle) {}

    private final Web3j web3j;
    private final String coordinator;
    private final long fromBlock;

    public CoordinatorEvents(Web3j web3j, String coordinator, long fromBlock) {
        this.web3j = web3j;
        this.coordinator = coordinator;
        this.fromBlock = fromBlock;
    }

    /** Every InferenceFulfilled / InferenceFailed event on the canonical chain, in chain order. */
    public List<Outcome> outcomes() {
        List<Outcome> out = new ArrayList<>();
        for (Log log : logs(List.of(FULFILLED, FAILED), null)) {
            String topic = log.getTopics().get(0);
            if (topic.equals(FULFILLED)) {
                InferenceCoordinator.InferenceFulfilledEventResponse e =
                        InferenceCoordinator.getInferenceFulfilledEventFromLog(log);
                out.add(new Outcome(e.requestId, true, 0, null, e.callbackSucceeded, log.getTransactionHash(),
                        log.getBlockNumber().longValueExact(), e.oracle));
            } else {
                InferenceCoordinator.InferenceFailedEventResponse e =
                        InferenceCoordinator.getInferenceFailedEventFromLog(log);
                out.add(new Outcome(e.requestId, false, e.code.intValueExact(), e.reason, e.callbackSucceeded,
                        log.getTransactionHash(), log.getBlockNumber().longValueExact(), e.oracle));
            }
        }
        return out;
    }

    /** Outcomes of one request (more than one would be a double fulfilment). */
    public List<Outcome> outcomes(BigInteger requestId) {
        return outcomes().stream().filter(o -> o.requestId().equals(requestId)).toList();
    }

    /** Number of outcome events per request id. */
    public Map<BigInteger, Integer> outcomeCounts() {
        Map<BigInteger, Integer> counts = new HashMap<>();
        for (Outcome o : outcomes()) {
            counts.merge(o.requestId(), 1, Integer::sum);
        }
        return counts;
    }

    /** Request ids of every InferenceRequested event on the canonical chain. */
    public List<BigInteger> requestedIds() {
        return logs(List.of(REQUESTED), null).stream()
                .map(log -> Numeric.toBigInt(log.getTopics().get(1))).toList();
    }

    private List<Log> logs(List<String> topic0, String requestIdTopic) {
        EthFilter filter = new EthFilter(DefaultBlockParameter.valueOf(BigInteger.valueOf(fromBlock)),
                DefaultBlockParameterName.LATEST, coordinator);
        filter.addOptionalTopics(topic0.toArray(String[]::new));
        if (requestIdTopic != null) {
            filter.addSingleTopic(requestIdTopic);
        }
        try {
            EthLog response = web3j.ethGetLogs(filter).send();
            if (response.hasError()) {
                throw new IllegalStateException("eth_getLogs failed: " + response.getError().getMessage());
            }
            List<Log> logs = new ArrayList<>();
            for (EthLog.LogResult<?> result : response.getLogs()) {
                logs.add((Log) result.get());
            }
            return logs;
        } catch (IOException e) {
            throw new UncheckedIOException("eth_getLogs failed", e);
        }
    }
}
