package dev.loracle.oracle.api;

import dev.loracle.oracle.journal.JournalEntry;
import dev.loracle.oracle.pipeline.AdapterService;

import java.util.List;

/** A journal entry as the REST API shows it (prompt as text, adapters as CID strings, timings in epoch millis). */
public record RequestView(String id, String origin, String state, String reason, Integer failureCode, String consumer,
                          String modelId, List<AdapterView> adapters, String prompt, long maxTokens, long temperature,
                          long topP, String seed, long deadline, String assignedOracle, Long blockNumber, String blockHash,
                          String output, int outputTokens, String resultCommitment, String txHash, String txKind,
                          Long gasUsed, Long generationNanos, int attempts, JournalEntry.Timings timings) {

    public record AdapterView(String cid, int weight) {
    }

    public static RequestView of(JournalEntry e) {
        var s = e.spec();
        List<String> cids = AdapterService.cidStrings(s);
        List<AdapterView> adapters = new java.util.ArrayList<>();
        for (int i = 0; i < cids.size(); i++) adapters.add(new AdapterView(cids.get(i), s.adapters().get(i).weight()));
        return new RequestView(e.id(), s.origin().name(), e.state().name(), e.reason(), e.failureCode(), s.consumer(),
                s.modelId(), adapters, s.promptText(), s.maxTokens(), s.temperature(), s.topP(), s.seed().toString(),
                s.deadline(), s.assignedOracle(), e.chainOrigin() == null ? null : e.chainOrigin().blockNumber(),
                e.chainOrigin() == null ? null : e.chainOrigin().blockHash(), e.output(), e.outputTokens(),
                e.resultCommitment(), e.txHash(), e.txKind(), e.gasUsed(), e.generationNanos(), e.attempts(), e.timings());
    }
}
