package dev.loracle.contracts;

import dev.loracle.contracts.generated.InferenceCoordinator.Adapter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.web3j.abi.FunctionEncoder;
import org.web3j.abi.datatypes.DynamicArray;
import org.web3j.abi.datatypes.Type;
import org.web3j.abi.datatypes.generated.Bytes32;
import org.web3j.abi.datatypes.generated.Uint32;
import org.web3j.crypto.Hash;
import org.web3j.utils.Numeric;

/**
 * The head a session turn's fulfilment records, exactly as the coordinator's {@code computeSessionHead}:
 * {@code keccak256(abi.encode(keccak256(bytes(profile)), keccak256(abi.encode(adapters)), keccak256(abi.encode(tokens))))}
 * over the session's full token sequence (uint32 ids) after the turn.
 */
public final class SessionHead {
    private SessionHead() {}

    public static byte[] compute(String profile, List<Adapter> adapters, int[] tokens) {
        Objects.requireNonNull(profile, "profile");
        Objects.requireNonNull(adapters, "adapters");
        List<Uint32> ids = new ArrayList<>(tokens.length);
        for (int t : tokens) {
            if (t < 0) throw new IllegalArgumentException("token ids are unsigned, got " + t);
            ids.add(new Uint32(t));
        }
        byte[] profileHash = Hash.sha3(profile.getBytes(StandardCharsets.UTF_8));
        byte[] adaptersHash = Hash.sha3(abiEncode(List.of(new DynamicArray<>(Adapter.class, adapters))));
        byte[] tokensHash = Hash.sha3(abiEncode(List.of(new DynamicArray<>(Uint32.class, ids))));
        return Hash.sha3(abiEncode(List.of(new Bytes32(profileHash), new Bytes32(adaptersHash), new Bytes32(tokensHash))));
    }

    @SuppressWarnings("rawtypes")
    private static byte[] abiEncode(List<Type> values) {
        return Numeric.hexStringToByteArray(FunctionEncoder.encodeConstructor(values));
    }
}
