package dev.loracle.oracle.pipeline;

import dev.loracle.contracts.FailureCode;

/**
 * A request cannot be served, for a reason the consumer must hear about: reported on-chain with {@code code} (the
 * coordinator's FailureCodes) so the fee is refunded.
 */
public class PipelineFailure extends RuntimeException {
    private final FailureCode code;

    public PipelineFailure(FailureCode code, String reason) {
        super(reason);
        this.code = code;
    }

    public FailureCode code() {
        return code;
    }
}
