package dev.loracle.oracle.verify;

import dev.loracle.contracts.generated.InferenceCoordinator;
import dev.loracle.oracle.chain.CoordinatorAbi;
import dev.loracle.oracle.chain.CoordinatorClient;
import dev.loracle.oracle.session.CanonicalHistory;
import org.web3j.protocol.Web3j;
import org.web3j.protocol.core.DefaultBlockParameterName;
import org.web3j.protocol.core.methods.request.Transaction;
import org.web3j.protocol.core.methods.response.EthCall;
import org.web3j.protocol.core.methods.response.Log;
import org.web3j.utils.Numeric;

import java.io.IOException;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the chain says about a fulfilled session turn and the turns before it, all a node needed to generate it: which
 * turns exist ({@code SessionTurnRequested}), how each earlier one ended ({@code SessionAdvanced}, {@code InferenceFailed},
 * {@code InferenceCancelled}), their prompts ({@code InferenceRequested}) and fulfilled outputs (the calldata of their
 * {@code fulfillTurn} transactions), and the head this turn's fulfilment recorded.
 */
record SessionTurnOnChain(BigInteger sessionId, int index, List<CanonicalHistory.EndedTurn> earlier, byte[] recordedHead) {

    /** The turn {@code result} is, or null when it is an ordinary request (the coordinator's {@code turns} view says so). */
    static SessionTurnOnChain read(Web3j web3j, String coordinator, OnChainResult result, long fromBlock)
            throws IOException, OnChainResult.Unavailable {
        EthCall call = web3j.ethCall(Transaction.createEthCallTransaction(null, coordinator,
                CoordinatorAbi.encodeTurns(result.requestId())), DefaultBlockParameterName.LATEST).send();
        if (call.hasError()) throw new OnChainResult.Unavailable("turns() failed: " + call.getError().getMessage());
        CoordinatorClient.TurnRef ref;
        try {
            ref = CoordinatorAbi.decodeTurns(call.getValue());
        } catch (IllegalArgumentException e) {
            throw new OnChainResult.Unavailable(e.getMessage());
        }
        if (!ref.isTurn()) return null;
        String sessionTopic = Numeric.toHexStringWithPrefixZeroPadded(ref.sessionId(), 64);
        Map<Integer, BigInteger> requested = new HashMap<>();
        for (Log l : OnChainResult.logs(web3j, coordinator, fromBlock, CoordinatorAbi.SESSION_TURN_REQUESTED_TOPIC, sessionTopic)) {
            var e = InferenceCoordinator.getSessionTurnRequestedEventFromLog(l);
            requested.put(e.turn.intValueExact(), e.requestId);
        }
        Map<BigInteger, Log> advanced = new HashMap<>();
        for (Log l : OnChainResult.logs(web3j, coordinator, fromBlock, CoordinatorAbi.SESSION_ADVANCED_TOPIC, sessionTopic)) {
            advanced.put(InferenceCoordinator.getSessionAdvancedEventFromLog(l).requestId, l);
        }
        Log own = advanced.get(result.requestId());
        if (own == null) {
            throw new OnChainResult.Unavailable("turn " + ref.index() + " of session " + sessionTopic + " has no SessionAdvanced event");
        }
        List<CanonicalHistory.EndedTurn> earlier = new ArrayList<>();
        for (int j = 0; j < ref.index(); j++) {
            BigInteger id = requested.get(j);
            if (id == null) throw new OnChainResult.Unavailable("no SessionTurnRequested event for turn " + j + " of session " + sessionTopic);
            earlier.add(ended(web3j, coordinator, fromBlock, j, id, advanced.get(id), own, ref.index()));
        }
        return new SessionTurnOnChain(ref.sessionId(), ref.index(), List.copyOf(earlier),
                InferenceCoordinator.getSessionAdvancedEventFromLog(own).head);
    }

    /** Earlier turn {@code j}: its prompt and, when fulfilled, its output; it must have ended before turn {@code k}'s fulfilment. */
    private static CanonicalHistory.EndedTurn ended(Web3j web3j, String coordinator, long fromBlock, int j, BigInteger id,
                                                    Log advanced, Log fulfilment, int k) throws IOException, OnChainResult.Unavailable {
        String idTopic = Numeric.toHexStringWithPrefixZeroPadded(id, 64);
        Log ending = advanced;
        if (ending == null) {
            List<Log> endings = new ArrayList<>(OnChainResult.logs(web3j, coordinator, fromBlock, CoordinatorAbi.INFERENCE_FAILED_TOPIC, idTopic));
            endings.addAll(OnChainResult.logs(web3j, coordinator, fromBlock, CoordinatorAbi.INFERENCE_CANCELLED_TOPIC, idTopic));
            ending = endings.isEmpty() ? null : endings.getFirst();
        }
        if (ending == null || !before(ending, fulfilment)) {
            throw new OnChainResult.Unavailable("turn " + j + " (" + idTopic + ") had not ended when turn " + k
                    + " was fulfilled, so no node could have known the history it continues");
        }
        if (advanced == null) return new CanonicalHistory.EndedTurn(null, null); // failed or cancelled: adds nothing
        List<Log> requested = OnChainResult.logs(web3j, coordinator, fromBlock, CoordinatorAbi.INFERENCE_REQUESTED_TOPIC, idTopic);
        if (requested.isEmpty()) throw new OnChainResult.Unavailable("no InferenceRequested event for turn " + j + " (" + idTopic + ")");
        byte[] prompt = InferenceCoordinator.getInferenceRequestedEventFromLog(requested.getLast()).request.prompt;
        String txHash = advanced.getTransactionHash();
        Optional<byte[]> output = web3j.ethGetTransactionByHash(txHash).send().getTransaction()
                .flatMap(tx -> CoordinatorAbi.decodeFulfillTurnOutput(tx.getInput()));
        if (output.isEmpty()) {
            throw new OnChainResult.Unavailable("the output of turn " + j + " cannot be read from transaction " + txHash
                    + " (not found, or not a direct fulfillTurn call), so the history of turn " + k + " cannot be rebuilt");
        }
        return new CanonicalHistory.EndedTurn(new String(prompt, java.nio.charset.StandardCharsets.UTF_8), output.get());
    }

    private static boolean before(Log a, Log b) {
        int byBlock = a.getBlockNumber().compareTo(b.getBlockNumber());
        return byBlock < 0 || (byBlock == 0 && a.getLogIndex().compareTo(b.getLogIndex()) < 0);
    }
}
