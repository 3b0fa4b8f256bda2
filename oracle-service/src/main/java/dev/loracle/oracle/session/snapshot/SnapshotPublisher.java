package dev.loracle.oracle.session.snapshot;

import dev.loracle.ipfs.unixfs.RawLeafFile;
import dev.loracle.runtime.session.KvSnapshot;
import dev.loracle.runtime.session.KvSnapshots;
import java.util.Arrays;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * After a turn: captures the rows the turn added from the prefix cache, signs the snapshot with the oracle key,
 * encodes it, lays it out as a {@link RawLeafFile} (so its CID is computed here) and hands the blocks to the uploader.
 * Only local work runs on the caller's thread; nothing here throws (a failure publishes no CID).
 */
final class SnapshotPublisher {
    private static final Logger log = LoggerFactory.getLogger(SnapshotPublisher.class);
    /** Leaf size: under the 1 MiB that js-ipfs accepts per block/put request and Kubo exchanges per block. */
    static final int CHUNK_BYTES = 512 << 10;
    static final long MAX_FILE_BYTES = (long) RawLeafFile.MAX_LEAVES * CHUNK_BYTES;
    private static final int B = KvSnapshot.BLOCK_POSITIONS;

    private final KvSnapshots snapshots;
    private final UnaryOperator<byte[]> signDigest;
    private final SnapshotUploader uploader;
    private final SnapshotStore store;
    private final SnapshotProperties settings;
    private final SnapshotMetrics metrics;

    SnapshotPublisher(KvSnapshots snapshots, UnaryOperator<byte[]> signDigest, SnapshotUploader uploader, SnapshotStore store,
                      SnapshotProperties settings, SnapshotMetrics metrics) {
        this.snapshots = snapshots;
        this.signDigest = signDigest;
        this.uploader = uploader;
        this.store = store;
        this.settings = settings;
        this.metrics = metrics;
    }

    /**
     * Signs a digest and lays out a two-leaf file once, at start-up: the first publish after a start otherwise pays
     * the signing and hashing code's class loading and curve set-up (~100 ms measured) on the fulfilment path.
     */
    void warmUp() {
        try {
            signDigest.apply(java.security.MessageDigest.getInstance("SHA-256").digest("loracle warm-up".getBytes()));
            RawLeafFile.of(new byte[CHUNK_BYTES + 1], CHUNK_BYTES).cid();
        } catch (java.security.NoSuchAlgorithmException | RuntimeException e) {
            log.warn("snapshot publisher warm-up failed (publishing will report its own errors): {}", e.toString());
        }
    }

    byte[] publish(SessionTurn turn, int[] tokensAfterTurn, int historyLengthBeforeTurn, String parentCid) {
        long t0 = System.nanoTime();
        try {
            // A chain restarts at position 0 when it has none yet, and every maxChainLength turns (bounds the walk back).
            boolean restart = parentCid == null || parentCid.isBlank() || turn.turnIndex() % settings.maxChainLength() == 0;
            String parent = restart ? "" : CidText.parse(parentCid).toString();
            int from = restart ? 0 : Math.max(0, historyLengthBeforeTurn - 1) / B * B;
            // The turn's last token was never fed back, so it has no KV row: the link ends before it.
            int[] fed = Arrays.copyOf(tokensAfterTurn, Math.max(0, tokensAfterTurn.length - 1));
            Optional<KvSnapshot> captured = fed.length / B * B <= from ? Optional.empty()
                    : snapshots.capture(parent, fed, from, turn.adapters());
            if (captured.isEmpty()) {
                metrics.skipped(fed.length / B * B <= from ? "no_new_block" : "not_cached");
                return new byte[0];
            }
            KvSnapshot unsigned = captured.get();
            byte[] bytes = unsigned.withSignature(signDigest.apply(unsigned.signingHash())).encode();
            if (bytes.length > settings.maxBytes()) {
                metrics.skipped("oversized");
                log.info("session {} turn {}: KV snapshot of {} bytes is over loracle.session.snapshot.max-bytes {}; none published",
                        turn.sessionId(), turn.turnIndex(), bytes.length, settings.maxBytes());
                return new byte[0];
            }
            RawLeafFile file = RawLeafFile.of(bytes, CHUNK_BYTES);
            store.put(file.cid(), bytes);
            uploader.submit(file);
            metrics.published.increment();
            metrics.snapshotBytes.record(bytes.length);
            return file.cid().toBytes();
        } catch (RuntimeException e) {
            metrics.skipped("error");
            log.warn("session {} turn {}: no KV snapshot published: {}", turn.sessionId(), turn.turnIndex(), e.toString());
            return new byte[0];
        } finally {
            metrics.publishTime.record(System.nanoTime() - t0, java.util.concurrent.TimeUnit.NANOSECONDS);
        }
    }
}
