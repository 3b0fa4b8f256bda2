package dev.loracle.oracle.session.snapshot;

import dev.loracle.ipfs.Cid;
import dev.loracle.ipfs.ContentNotFoundException;
import dev.loracle.ipfs.ContentTooLargeException;
import dev.loracle.ipfs.InvalidCidException;
import dev.loracle.ipfs.IpfsException;
import dev.loracle.ipfs.VerificationException;
import dev.loracle.ipfs.unixfs.RawLeafFileFetcher;
import dev.loracle.runtime.engine.BlockHash;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.session.KvSnapshot;
import dev.loracle.runtime.session.KvSnapshots;
import dev.loracle.runtime.session.SnapshotRejectedException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Before a turn: makes the longest usable prefix of the session's history resident in the prefix cache. The engine's
 * own cache first; else the newest snapshot named on-chain and, through the headers' parent CIDs, the older links
 * back to what the cache already holds (each from the local store or IPFS, CID-verified, strictly decoded), checked
 * by the runtime (tokens, profiles, prefix hash, spot check) and here (signed by a registered oracle, parents named
 * on-chain, chain length). Any failure: one log line, a metric with the reason, and the turn recomputes.
 */
final class SnapshotResumer {
    private static final Logger log = LoggerFactory.getLogger(SnapshotResumer.class);
    private static final int B = KvSnapshot.BLOCK_POSITIONS;

    private final InferenceEngine engine;
    private final KvSnapshots snapshots;
    private final RawLeafFileFetcher fetcher;
    private final SnapshotStore store;
    private final OracleRegistry oracles;
    private final SnapshotProperties settings;
    private final SnapshotMetrics metrics;

    SnapshotResumer(InferenceEngine engine, KvSnapshots snapshots, RawLeafFileFetcher fetcher, SnapshotStore store,
                    OracleRegistry oracles, SnapshotProperties settings, SnapshotMetrics metrics) {
        this.engine = engine;
        this.snapshots = snapshots;
        this.fetcher = fetcher;
        this.store = store;
        this.oracles = oracles;
        this.settings = settings;
        this.metrics = metrics;
    }

    ResumeOutcome prepare(SessionTurn turn, int[] history, List<String> snapshotCids) {
        ResumeOutcome outcome = resume(turn, history, snapshotCids);
        metrics.resumed(outcome.source());
        return outcome;
    }

    private ResumeOutcome resume(SessionTurn turn, int[] history, List<String> snapshotCids) {
        int target = Math.max(0, history.length - 1) / B * B;   // a snapshot chain never covers the history's last token
        if (target == 0) return new ResumeOutcome(ResumeOutcome.Source.RECOMPUTE, 0, "history shorter than a block");
        int cached;
        try {
            List<BlockHash> hashes = engine.prefixRoot(turn.adapters().members(), turn.adapters().mode()).chain(history, target / B);
            cached = engine.cachedKvPrefixBlocks(hashes) * B;
        } catch (RuntimeException e) {
            return rejected(turn, "error", "cannot hash the history: " + e, 0);
        }
        if (cached == target) return new ResumeOutcome(ResumeOutcome.Source.PREFIX_CACHE, cached, "own prefix cache");
        try {
            List<KvSnapshot> newestFirst = linksBeyond(cached, snapshotCids);
            if (newestFirst.isEmpty()) return ownCacheOnly(cached, "no snapshot published on-chain");
            if (newestFirst.getFirst().to() <= cached) return ownCacheOnly(cached, "the snapshots end before the own cache");
            int positions = snapshots.resume(newestFirst.reversed(), history, turn.adapters(), this::requireOracleSignature);
            metrics.reused.increment();
            return new ResumeOutcome(ResumeOutcome.Source.SNAPSHOT, positions,
                    newestFirst.size() + " link(s) after " + cached + " cached positions");
        } catch (SnapshotRejectedException e) {
            return rejected(turn, e.reason().name(), e.getMessage(), cached);
        } catch (SnapshotRejection e) {
            return rejected(turn, e.reason(), e.getMessage(), cached);
        } catch (ContentNotFoundException e) {
            return rejected(turn, "unavailable", e.getMessage(), cached);
        } catch (VerificationException e) {
            return rejected(turn, "cid_mismatch", e.getMessage(), cached);
        } catch (ContentTooLargeException e) {
            return rejected(turn, "oversized", e.getMessage(), cached);
        } catch (InvalidCidException e) {
            return rejected(turn, "malformed", e.getMessage(), cached);
        } catch (IpfsException e) {
            return rejected(turn, "unavailable", e.getMessage(), cached);
        } catch (RuntimeException e) {
            return rejected(turn, "error", e.toString(), cached);
        }
    }

    /**
     * The links from the newest on-chain CID back to the first one starting at or before {@code cached}, newest first.
     * Each parent must be named on-chain before its child.
     */
    private List<KvSnapshot> linksBeyond(int cached, List<String> snapshotCids) {
        List<Cid> onChain = new ArrayList<>();
        for (String text : snapshotCids) onChain.add(text == null || text.isBlank() ? null : CidText.parse(text));
        int at = onChain.size() - 1;
        while (at >= 0 && onChain.get(at) == null) at--;
        List<KvSnapshot> links = new ArrayList<>();
        long deadline = System.nanoTime() + settings.fetchTimeout().toNanos();
        while (at >= 0) {
            if (links.size() == settings.maxChainLength()) {
                throw new SnapshotRejection("chain_too_long", "more than " + settings.maxChainLength() + " links to walk back");
            }
            KvSnapshot link = load(onChain.get(at), deadline);
            links.add(link);
            if (link.from() <= cached || link.parentCid().isEmpty()) break;
            Cid parent = CidText.parse(link.parentCid());
            int p = at - 1;
            while (p >= 0 && !parent.equals(onChain.get(p))) p--;
            if (p < 0) throw new SnapshotRejection("mismatch", "parent " + parent + " of " + onChain.get(at) + " is not named on-chain before it");
            at = p;
        }
        return links;
    }

    private KvSnapshot load(Cid cid, long deadline) {
        byte[] bytes = store.get(cid);
        if (bytes == null) {
            Duration left = Duration.ofNanos(Math.max(1, deadline - System.nanoTime()));
            bytes = fetcher.fetch(cid, settings.maxBytes(), left);
            metrics.fetchedBytes.increment(bytes.length);
            store.put(cid, bytes);
        }
        return KvSnapshot.decode(bytes, (int) Math.min(Integer.MAX_VALUE, settings.maxBytes()));
    }

    private void requireOracleSignature(KvSnapshot s) {
        if (!s.signed()) throw new SnapshotRejectedException(SnapshotRejectedException.Reason.UNSIGNED, "positions [" + s.from() + ", " + s.to() + ") carry no signature");
        String signer = SnapshotSignatures.signer(s);
        if (!oracles.isOracle(signer)) throw new SnapshotRejection("not_oracle", "signed by " + signer + ", not a registered oracle");
    }

    private static ResumeOutcome ownCacheOnly(int cached, String why) {
        return cached > 0 ? new ResumeOutcome(ResumeOutcome.Source.PREFIX_CACHE, cached, why)
                : new ResumeOutcome(ResumeOutcome.Source.RECOMPUTE, 0, why);
    }

    private ResumeOutcome rejected(SessionTurn turn, String reason, String message, int cached) {
        String label = reason.toLowerCase(Locale.ROOT);
        metrics.rejected(label);
        log.warn("session {} turn {}: KV snapshot not used ({}), recomputing from position {}: {}", turn.sessionId(),
                turn.turnIndex(), label, cached, message);
        return ownCacheOnly(cached, "snapshot rejected (" + label + "): " + message);
    }
}
