package dev.loracle.contracts;

import java.util.Arrays;

/**
 * Failure codes an oracle passes to {@code InferenceCoordinator.reportFailure}; mirrors the Solidity library
 * {@code FailureCodes} (contracts/contracts/libraries/FailureCodes.sol), checked by {@code FailureCodeTest}.
 */
public enum FailureCode {
    /** An adapter CID could not be parsed as a supported CID. */
    INVALID_CID(1),
    /** An adapter could not be fetched from IPFS after retries. */
    ADAPTER_NOT_FOUND(2),
    /** An adapter file is malformed, contains NaN/Inf, or failed its integrity check. */
    ADAPTER_INVALID(3),
    /** An adapter targets another architecture or tensor shape than the model. */
    ADAPTER_INCOMPATIBLE(4),
    /** The prompt is empty, not UTF-8, or too long for the model. */
    PROMPT_INVALID(5),
    /** Prompt tokens plus maxTokens exceed the model context. */
    CONTEXT_OVERFLOW(6),
    /** The oracle does not serve the requested model. */
    MODEL_UNAVAILABLE(7),
    /** The oracle could not finish before the request deadline. */
    DEADLINE_EXCEEDED(8),
    /** The oracle hit its memory red line. */
    RESOURCE_EXHAUSTED(9),
    /** Any other oracle-side error. */
    INTERNAL_ERROR(10);

    private final int code;

    FailureCode(int code) {
        this.code = code;
    }

    /** The uint16 value sent on-chain. */
    public int code() {
        return code;
    }

    /**
     * The constant for an on-chain code.
     *
     * @throws IllegalArgumentException for a code outside 1..10
     */
    public static FailureCode fromCode(int code) {
        return Arrays.stream(values())
                .filter(value -> value.code == code)
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown failure code " + code + " (expected 1..10)"));
    }
}
