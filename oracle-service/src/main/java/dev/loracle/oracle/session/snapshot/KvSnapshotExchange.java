package dev.loracle.oracle.session.snapshot;

import java.util.List;

/** Moves a session's KV prefix between nodes as content-addressed snapshots; an optimisation, never required. */
public interface KvSnapshotExchange {

    /**
     * Before turn k: makes the longest usable prefix of {@code historyTokens} (the session's canonical tokens of
     * turns 0..k-1, rebuilt from chain data) resident in the engine's prefix cache: the engine's own prefix cache
     * first, else the chain of snapshots named on-chain ({@code snapshotCids}: one per earlier turn, oldest first,
     * "" where a turn published none), fetched from IPFS (only the links not already cached) and checked
     * (CIDs, header token hashes vs historyTokens, model/adapter/numeric profile, signer is a registered oracle,
     * spot check). Never throws for a bad or missing snapshot: it logs, counts a metric with the reason, and the
     * turn recomputes. Bounded time (configurable fetch timeout).
     */
    ResumeOutcome prepare(SessionTurn turn, int[] historyTokens, List<String> snapshotCids);

    /**
     * After turn k generated (its blocks are in the engine's prefix cache): captures the rows the turn added,
     * signs them with the node's oracle key, encodes, computes the CID LOCALLY and schedules the IPFS upload in the
     * background. Returns the binary CID for {@code fulfillTurn} (empty array when there is nothing to publish or
     * publishing is off). Never blocks on IPFS; an upload failure only logs + counts.
     * {@code parentCid}: the previous turn's snapshot CID as on-chain ("" if none).
     */
    byte[] publish(SessionTurn turn, int[] tokensAfterTurn, int historyLengthBeforeTurn, String parentCid);

    /** No exchange: prepare recomputes (the engine's own prefix cache still applies), publish returns no CID. */
    static KvSnapshotExchange disabled() {
        return new KvSnapshotExchange() {
            @Override
            public ResumeOutcome prepare(SessionTurn turn, int[] historyTokens, List<String> snapshotCids) {
                return new ResumeOutcome(ResumeOutcome.Source.RECOMPUTE, 0, "snapshot exchange disabled");
            }

            @Override
            public byte[] publish(SessionTurn turn, int[] tokensAfterTurn, int historyLengthBeforeTurn, String parentCid) {
                return new byte[0];
            }
        };
    }
}
