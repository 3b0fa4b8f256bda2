package dev.loracle.contracts;

import dev.loracle.contracts.generated.InferenceCoordinator.Adapter;
import dev.loracle.contracts.generated.InferenceCoordinator.InferenceRequest;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import org.web3j.abi.FunctionEncoder;
import org.web3j.abi.datatypes.DynamicArray;
import org.web3j.abi.datatypes.Type;
import org.web3j.abi.datatypes.generated.Bytes32;
import org.web3j.abi.datatypes.generated.Uint256;
import org.web3j.abi.datatypes.generated.Uint32;
import org.web3j.abi.datatypes.generated.Uint64;
import org.web3j.crypto.Hash;
import org.web3j.utils.Numeric;

/**
 * The result commitment an oracle passes to {@code fulfill}, computed exactly as the coordinator's
 * {@code computeResultCommitment}:
 * {@code keccak256(abi.encode(requestId, modelId, weightsHash, keccak256(bytes(profile)), keccak256(abi.encode(adapters)),
 * keccak256(prompt), maxTokens, temperature, topP, seed, keccak256(output)))}, where weightsHash and profile are the
 * model's registered ones. The coordinator recomputes it on-chain and rejects a mismatch.
 */
public final class ResultCommitment {
    private ResultCommitment() {}

    /** What the registry says decides a model's output bits: its weights and its numeric profile. */
    public record ModelBinding(byte[] weightsHash, String profile) {
        public ModelBinding {
            if (weightsHash == null || weightsHash.length != 32) {
                throw new IllegalArgumentException("weightsHash must be 32 bytes");
            }
            if (profile == null || profile.isEmpty()) {
                throw new IllegalArgumentException("profile must not be empty");
            }
            weightsHash = weightsHash.clone();
        }

        @Override
        public byte[] weightsHash() {
            return weightsHash.clone();
        }
    }

    /** Commitment for {@code output} generated for request {@code requestId}. */
    public static byte[] compute(BigInteger requestId, ModelBinding model, InferenceRequest request, byte[] output) {
        Objects.requireNonNull(request, "request");
        return compute(requestId, request.modelId, model, request.adapters, request.prompt, request.maxTokens.longValue(),
                request.temperature.longValue(), request.topP.longValue(), request.seed, output);
    }

    /** Commitment from the individual request fields (fixed-point values as on-chain, 1e4 = 1.0). */
    public static byte[] compute(BigInteger requestId, byte[] modelId, ModelBinding model, List<Adapter> adapters,
            byte[] prompt, long maxTokens, long temperature, long topP, BigInteger seed, byte[] output) {
        Objects.requireNonNull(requestId, "requestId");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(adapters, "adapters");
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(seed, "seed");
        Objects.requireNonNull(output, "output");
        if (modelId == null || modelId.length != 32) {
            throw new IllegalArgumentException("modelId must be 32 bytes");
        }
        byte[] adaptersHash = Hash.sha3(abiEncode(List.of(new DynamicArray<>(Adapter.class, adapters))));
        return Hash.sha3(abiEncode(List.of(
                new Uint256(requestId),
                new Bytes32(modelId),
                new Bytes32(model.weightsHash()),
                new Bytes32(Hash.sha3(model.profile().getBytes(StandardCharsets.UTF_8))),
                new Bytes32(adaptersHash),
                new Bytes32(Hash.sha3(prompt)),
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
