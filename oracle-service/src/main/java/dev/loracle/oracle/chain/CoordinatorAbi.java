package dev.loracle.oracle.chain;

import dev.loracle.contracts.generated.InferenceCoordinator;
import dev.loracle.oracle.journal.InferenceSpec;
import org.web3j.abi.EventEncoder;
import org.web3j.abi.FunctionEncoder;
import org.web3j.abi.FunctionReturnDecoder;
import org.web3j.abi.TypeReference;
import org.web3j.abi.datatypes.Bool;
import org.web3j.abi.datatypes.DynamicBytes;
import org.web3j.abi.datatypes.Function;
import org.web3j.abi.datatypes.Type;
import org.web3j.abi.datatypes.Utf8String;
import org.web3j.abi.datatypes.generated.Bytes32;
import org.web3j.abi.datatypes.generated.Uint16;
import org.web3j.abi.datatypes.generated.Uint256;
import org.web3j.abi.datatypes.generated.Uint32;
import org.web3j.abi.datatypes.generated.Uint96;
import org.web3j.protocol.core.methods.response.Log;

import java.math.BigInteger;
import java.util.List;

/**
 * Calldata of the coordinator calls the oracle signs itself (its own transaction manager, not the wrapper's send
 * methods) and decoding of the coordinator's logs, through web3j's ABI codec and the contracts module's generated types.
 */
public final class CoordinatorAbi {
    public static final String INFERENCE_REQUESTED_TOPIC = EventEncoder.encode(InferenceCoordinator.INFERENCEREQUESTED_EVENT);
    public static final String INFERENCE_CANCELLED_TOPIC = EventEncoder.encode(InferenceCoordinator.INFERENCECANCELLED_EVENT);
    public static final String INFERENCE_FULFILLED_TOPIC = EventEncoder.encode(InferenceCoordinator.INFERENCEFULFILLED_EVENT);
    public static final String INFERENCE_FAILED_TOPIC = EventEncoder.encode(InferenceCoordinator.INFERENCEFAILED_EVENT);
    public static final String SESSION_TURN_REQUESTED_TOPIC = EventEncoder.encode(InferenceCoordinator.SESSIONTURNREQUESTED_EVENT);
    public static final String SESSION_ADVANCED_TOPIC = EventEncoder.encode(InferenceCoordinator.SESSIONADVANCED_EVENT);
    /** The 4-byte selector of fulfillTurn, to find a turn's output in its fulfilment's calldata. */
    static final String FULFILL_TURN_SELECTOR = FunctionEncoder.encode(new Function(InferenceCoordinator.FUNC_FULFILLTURN,
            List.of(new Uint256(BigInteger.ZERO), dummyRequest(), new DynamicBytes(new byte[0]), new Bytes32(new byte[32]),
                    new Bytes32(new byte[32]), new DynamicBytes(new byte[0])), List.of())).substring(0, 10);

    private CoordinatorAbi() {
    }

    public static String encodeFulfill(InferenceSpec spec, byte[] output, byte[] resultCommitment) {
        return FunctionEncoder.encode(new Function(InferenceCoordinator.FUNC_FULFILL, List.of(new Uint256(spec.requestId()),
                InferenceRequestConverter.toStruct(spec), new DynamicBytes(output), new Bytes32(resultCommitment)), List.of()));
    }

    public static String encodeFulfillTurn(InferenceSpec spec, byte[] output, byte[] resultCommitment, byte[] head, byte[] snapshotCid) {
        return FunctionEncoder.encode(new Function(InferenceCoordinator.FUNC_FULFILLTURN, List.of(new Uint256(spec.requestId()),
                InferenceRequestConverter.toStruct(spec), new DynamicBytes(output), new Bytes32(resultCommitment),
                new Bytes32(head), new DynamicBytes(snapshotCid)), List.of()));
    }

    /** Which session turn a request is: turns(requestId) returns (sessionId, index); sessionId 0 = not a turn. */
    public static String encodeTurns(BigInteger requestId) {
        return FunctionEncoder.encode(new Function(InferenceCoordinator.FUNC_TURNS, List.of(new Uint256(requestId)), List.of()));
    }

    @SuppressWarnings({"rawtypes", "unchecked"})
    public static CoordinatorClient.TurnRef decodeTurns(String returned) {
        List<Type> values = FunctionReturnDecoder.decode(returned, (List) List.of(new TypeReference<Uint256>() { },
                new TypeReference<Uint32>() { }));
        if (values.size() != 2) throw new IllegalArgumentException("turns() returned no data ('" + returned + "'): is the coordinator address right?");
        return new CoordinatorClient.TurnRef((BigInteger) values.get(0).getValue(), ((BigInteger) values.get(1).getValue()).intValueExact());
    }

    /**
     * The output argument of a fulfillTurn call's calldata. Empty when {@code input} is not a direct fulfillTurn call
     * (a fulfilment sent through another contract: its output is then not readable from the transaction alone).
     */
    @SuppressWarnings({"rawtypes", "unchecked"})
    public static java.util.Optional<byte[]> decodeFulfillTurnOutput(String input) {
        if (input == null || !input.toLowerCase().startsWith(FULFILL_TURN_SELECTOR)) return java.util.Optional.empty();
        List<Type> values = FunctionReturnDecoder.decode("0x" + input.substring(FULFILL_TURN_SELECTOR.length()),
                (List) List.of(new TypeReference<Uint256>() { }, new TypeReference<InferenceCoordinator.InferenceRequest>() { },
                        new TypeReference<DynamicBytes>() { }, new TypeReference<Bytes32>() { }, new TypeReference<Bytes32>() { },
                        new TypeReference<DynamicBytes>() { }));
        if (values.size() != 6) return java.util.Optional.empty();
        return java.util.Optional.of((byte[]) values.get(2).getValue());
    }

    private static InferenceCoordinator.InferenceRequest dummyRequest() {
        return new InferenceCoordinator.InferenceRequest("0x0000000000000000000000000000000000000000", new byte[32], List.of(),
                new byte[0], BigInteger.ZERO, BigInteger.ZERO, BigInteger.ZERO, BigInteger.ZERO, BigInteger.ZERO,
                BigInteger.ZERO, BigInteger.ZERO, BigInteger.ZERO, "0x0000000000000000000000000000000000000000", BigInteger.ZERO);
    }

    public static String encodeReportFailure(InferenceSpec spec, int code, String reason) {
        return FunctionEncoder.encode(new Function(InferenceCoordinator.FUNC_REPORTFAILURE, List.of(new Uint256(spec.requestId()),
                InferenceRequestConverter.toStruct(spec), new Uint16(code), new Utf8String(reason)), List.of()));
    }

    public static String encodeIsPending(BigInteger requestId) {
        return FunctionEncoder.encode(new Function(InferenceCoordinator.FUNC_ISPENDING, List.of(new Uint256(requestId)), List.of()));
    }

    public static boolean decodeIsPending(String returned) {
        return (Boolean) single("isPending", returned, new TypeReference<Bool>() { }).getValue();
    }

    public static String encodeIsOracle(String account) {
        return FunctionEncoder.encode(new Function(InferenceCoordinator.FUNC_ISORACLE,
                List.of(new org.web3j.abi.datatypes.Address(account)), List.of()));
    }

    public static boolean decodeBool(String returned) {
        return (Boolean) single("bool", returned, new TypeReference<Bool>() { }).getValue();
    }

    public static String encodeCredits(String account) {
        return FunctionEncoder.encode(new Function(InferenceCoordinator.FUNC_CREDITS,
                List.of(new org.web3j.abi.datatypes.Address(account)), List.of()));
    }

    public static String encodeWithdraw() {
        return FunctionEncoder.encode(new Function(InferenceCoordinator.FUNC_WITHDRAW, List.of(), List.of()));
    }

    public static BigInteger decodeUint(String returned) {
        return (BigInteger) single("uint256", returned, new TypeReference<Uint256>() { }).getValue();
    }

    public static String encodeModels(byte[] modelId) {
        return FunctionEncoder.encode(new Function(InferenceCoordinator.FUNC_MODELS, List.of(new Bytes32(modelId)), List.of()));
    }

    /**
     * models(bytes32) returns the Model struct's members (weightsHash, baseFee, feePerToken, feePerAdapter,
     * callbackGasPrice, maxTokens, enabled, uri, profile); null when the weights hash is zero (unknown model).
     */
    @SuppressWarnings({"rawtypes", "unchecked"})
    public static CoordinatorClient.RegisteredModel decodeModel(String returned) {
        List<TypeReference<?>> types = List.of(new TypeReference<Bytes32>() { }, new TypeReference<Uint96>() { },
                new TypeReference<Uint96>() { }, new TypeReference<Uint96>() { }, new TypeReference<Uint96>() { },
                new TypeReference<Uint32>() { }, new TypeReference<Bool>() { }, new TypeReference<Utf8String>() { },
                new TypeReference<Utf8String>() { });
        List<Type> values = FunctionReturnDecoder.decode(returned, (List) types);
        if (values.isEmpty()) {
            throw new IllegalArgumentException("models() returned no data ('" + returned + "'): is the coordinator address right?");
        }
        byte[] weightsHash = (byte[]) values.getFirst().getValue();
        if (java.util.Arrays.equals(weightsHash, new byte[32])) return null;
        return new CoordinatorClient.RegisteredModel(weightsHash, (String) values.get(8).getValue());
    }

    /** The request of an InferenceRequested log (its id is topic 1; the struct is the log data). */
    public static InferenceSpec decodeInferenceRequested(Log log) {
        InferenceCoordinator.InferenceRequestedEventResponse event;
        try {
            event = InferenceCoordinator.getInferenceRequestedEventFromLog(log);
        } catch (RuntimeException undecodable) {
            throw new IllegalArgumentException("InferenceRequested log data is not a valid request: " + undecodable, undecodable);
        }
        return InferenceRequestConverter.toSpec(event.requestId, event.request);
    }

    /** The first return value of a view call; an empty return (no contract at the address) is an error, not a default. */
    @SuppressWarnings({"rawtypes", "unchecked"})
    private static Type single(String function, String returned, TypeReference<? extends Type> first) {
        List<Type> values = FunctionReturnDecoder.decode(returned, (List) List.of(first));
        if (values.isEmpty()) {
            throw new IllegalArgumentException(function + "() returned no data ('" + returned + "'): is the coordinator address right?");
        }
        return values.getFirst();
    }
}
