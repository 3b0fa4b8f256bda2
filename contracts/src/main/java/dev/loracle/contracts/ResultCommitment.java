package dev.loracle.contracts;

import dev.loracle.contracts.generated.InferenceCoordinator.Adapter;
import dev.loracle.contracts.generated.InferenceCoordinator.InferenceRequest;
import java.math.BigInteger;
import java.util.List;
import java.util.Objects;
import org.web3j.abi.FunctionEncoder;
import org.web3j.abi.datatypes.DynamicArray;
import org.web3j.abi.datatypes.Type;
import org.web3j.abi.datatypes.generated.Bytes32;
import org.web3j.abi.datatypes.generated.Uint32;
import org.web3j.abi.datatypes.generated.Uint64;
import org.web3j.crypto.Hash;
import org.web3j.utils.Numeric;

/**
 * The result commitment an oracle passes to {@code fulfill}, computed exactly as the coordinator's
 * {@code computeResultCommitment}:
 * {@code keccak256(abi.encode(weightsHash, keccak256(abi.encode(adapters)), maxTokens, temperature, topP, seed,
 * keccak256(output)))}. The coordinator recomputes it on-chain and rejects a mismatch.
 */
public final class ResultCommitment {
    private ResultCommitment() {}

    /** Commitment for {@code output} generated for {@code request} with a model whose weights hash is given. */
    public static byte[] compute(byte[] weightsHash, InferenceRequest request, byte[] output) {
        Objects.requireNonNull(request, "request");
        return compute(weightsHash, request.adapters, request.maxTokens.longValue(), request.temperature.longValue(),
                request.topP.longValue(), request.seed, output);
    }

    /** Commitment from the individual request fields (fixed-point values as on-chain, 1e4 = 1.0). */
    public static byte[] compute(byte[] weightsHash, List<Adapter> adapters, long maxTokens, long temperature,
            long topP, BigInteger seed, byte[] output) {
        if (weightsHash == null || weightsHash.length != 32) {
            throw new IllegalArgumentException("weightsHash must be 32 bytes");
        }
        Objects.requireNonNull(adapters, "adapters");
        Objects.requireNonNull(seed, "seed");
        Objects.requireNonNull(output, "output");
        byte[] adaptersHash = Hash.sha3(abiEncode(List.of(new DynamicArray<>(Adapter.class, adapters))));
        return Hash.sha3(abiEncode(List.of(
                new Bytes32(weightsHash),
                new Bytes32(adaptersHash),
                new Uint32(maxTokens),
                new Uint32(temperature),
                new Uint32(topP),
                new Uint64(seed),
                new Bytes32(Hash.sha3(output)))));
    }

    /** Solidity's {@code abi.encode(values...)}: the values encoded as a tuple, with head/tail offsets. */
    @SuppressWarnings("rawtypes")
    private static byte[] abiEncode(List<Type> values) {
        return Numeric.hexStringToByteArray(FunctionEncoder.encodeConstructor(values));
    }
}
