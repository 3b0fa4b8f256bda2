package dev.loracle.oracle.journal;

import org.web3j.crypto.Hash;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * What was asked for, exactly as committed on-chain (for CHAIN requests every field is needed again to call fulfil /
 * reportFailure, which re-check the commitment). API requests leave the chain-only fields empty.
 *
 * @param id          journal id: 0x + 64 hex digits of the on-chain requestId, or cmpl-... for the API
 * @param modelId     bytes32 hex
 * @param temperature fixed-point 1e4
 * @param topP        fixed-point 1e4
 * @param seed        uint64
 * @param deadline    unix seconds, 0 = none
 * @param promptFormat how the prompt is written (RAW text or CHAT messages)
 */
public record InferenceSpec(String id, RequestOrigin origin, String consumer, String modelId, List<AdapterSpec> adapters,
                            byte[] prompt, long maxTokens, long temperature, long topP, BigInteger seed,
                            long callbackGasLimit, long deadline, BigInteger fee, String assignedOracle, long exclusiveUntil,
                            PromptFormat promptFormat) {

    public InferenceSpec {
        adapters = List.copyOf(adapters);
        prompt = prompt.clone();
        java.util.Objects.requireNonNull(promptFormat, "promptFormat");
    }

    /** A raw-text request. */
    public InferenceSpec(String id, RequestOrigin origin, String consumer, String modelId, List<AdapterSpec> adapters,
                         byte[] prompt, long maxTokens, long temperature, long topP, BigInteger seed,
                         long callbackGasLimit, long deadline, BigInteger fee, String assignedOracle, long exclusiveUntil) {
        this(id, origin, consumer, modelId, adapters, prompt, maxTokens, temperature, topP, seed, callbackGasLimit, deadline,
                fee, assignedOracle, exclusiveUntil, PromptFormat.RAW);
    }

    @Override
    public byte[] prompt() {
        return prompt.clone();
    }

    /** Journal id of an on-chain request id. */
    public static String chainId(BigInteger requestId) {
        return "0x" + String.format("%064x", requestId);
    }

    public BigInteger requestId() {
        if (origin != RequestOrigin.CHAIN) throw new IllegalStateException(id + " is not an on-chain request");
        return new BigInteger(id.substring(2), 16);
    }

    /**
     * Requests with the same key can be served by one attachment: same adapters, same weights, same order (merging is a
     * weighted sum, so order does not change the result, but keeping it keeps the key obvious).
     */
    public String adapterSetKey() {
        String joined = adapters.stream().map(AdapterSpec::encode).collect(Collectors.joining(";"));
        return Hash.sha3String(joined).substring(2, 42);
    }

    String adaptersEncoded() {
        return adapters.stream().map(AdapterSpec::encode).collect(Collectors.joining(";"));
    }

    static List<AdapterSpec> decodeAdapters(String s) {
        if (s == null || s.isEmpty()) return List.of();
        return Arrays.stream(s.split(";")).map(AdapterSpec::decode).toList();
    }

    public String promptText() {
        return new String(prompt, StandardCharsets.UTF_8);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof InferenceSpec s && s.id.equals(id) && s.origin == origin && java.util.Objects.equals(s.consumer, consumer)
                && s.modelId.equals(modelId) && s.adapters.equals(adapters) && Arrays.equals(s.prompt, prompt)
                && s.maxTokens == maxTokens && s.temperature == temperature && s.topP == topP && s.seed.equals(seed)
                && s.callbackGasLimit == callbackGasLimit && s.deadline == deadline && s.fee.equals(fee)
                && java.util.Objects.equals(s.assignedOracle, assignedOracle) && s.exclusiveUntil == exclusiveUntil
                && s.promptFormat == promptFormat;
    }

    @Override
    public int hashCode() {
        return id.hashCode();
    }

    @Override
    public String toString() {
        return "InferenceSpec[id=" + id + ", origin=" + origin + ", adapters=" + adapters.size() + ", promptBytes=" + prompt.length + ", promptFormat=" + promptFormat
                + ", maxTokens=" + maxTokens + ", temperature=" + temperature + ", topP=" + topP + ", seed=" + seed + "]";
    }
}
