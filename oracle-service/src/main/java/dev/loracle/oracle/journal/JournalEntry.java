package dev.loracle.oracle.journal;

/** One journal row: the request, its state and everything recorded about its progress. Timings are epoch millis. */
public record JournalEntry(InferenceSpec spec, ChainOrigin chainOrigin, RequestState state, int version, String reason,
                           Integer failureCode, String output, int outputTokens, String resultCommitment, String txHash,
                           String txKind, Long gasUsed, Long generationNanos, int attempts, Timings timings) {

    public String id() {
        return spec.id();
    }

    public record Timings(long seenAt, Long fetchStartedAt, Long runStartedAt, Long submittedAt, Long confirmedAt,
                          Long unloadedAt, Long finishedAt, long updatedAt) {
    }
}
