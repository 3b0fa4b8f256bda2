package dev.loracle.oracle.session.snapshot;

import dev.loracle.ipfs.KuboRpcClient;
import dev.loracle.ipfs.unixfs.RawLeafFileFetcher;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.session.KvSnapshots;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;

/** The exchange over IPFS: {@link SnapshotPublisher} after a turn, {@link SnapshotResumer} before one. */
public final class IpfsKvSnapshotExchange implements KvSnapshotExchange, AutoCloseable {
    /** Per block/put call: uploads run in the background, so a slow node only delays the next upload. */
    private static final Duration UPLOAD_TIMEOUT = Duration.ofSeconds(30);
    private final SnapshotPublisher publisher;
    private final SnapshotResumer resumer;
    private final SnapshotUploader uploader;

    IpfsKvSnapshotExchange(SnapshotPublisher publisher, SnapshotResumer resumer, SnapshotUploader uploader) {
        this.publisher = publisher;
        this.resumer = resumer;
        this.uploader = uploader;
    }

    /**
     * An exchange for {@code engine} (its prefix cache must be on) over the IPFS nodes {@code ipfsApis} (tried in order),
     * signing with {@code signDigest} (the oracle key) and trusting snapshots whose signer {@code isOracle} on-chain.
     */
    public static IpfsKvSnapshotExchange create(InferenceEngine engine, List<URI> ipfsApis, UnaryOperator<byte[]> signDigest,
                                                Predicate<String> isOracle, SnapshotProperties settings, MeterRegistry meters, Clock clock) {
        if (!engine.config().prefixCache()) throw new IllegalArgumentException("the snapshot exchange needs the engine's prefix cache");
        List<KuboRpcClient> nodes = ipfsApis.stream().map(u -> new KuboRpcClient(u, UPLOAD_TIMEOUT)).toList();
        SnapshotMetrics metrics = new SnapshotMetrics(meters);
        SnapshotStore store = new SnapshotStore(settings.storeBytes());
        KvSnapshots snapshots = new KvSnapshots(engine, (float) settings.spotCheckTolerance());
        SnapshotUploader uploader = new SnapshotUploader(nodes, settings.uploadQueue(), metrics);
        SnapshotPublisher publisher = new SnapshotPublisher(snapshots, signDigest, uploader, store, settings, metrics);
        publisher.warmUp();
        return new IpfsKvSnapshotExchange(publisher,
                new SnapshotResumer(engine, snapshots, new RawLeafFileFetcher(nodes), store,
                        new OracleRegistry(isOracle, settings.oracleCacheTtl(), clock), settings, metrics),
                uploader);
    }

    @Override
    public ResumeOutcome prepare(SessionTurn turn, int[] historyTokens, List<String> snapshotCids) {
        return resumer.prepare(turn, historyTokens, snapshotCids);
    }

    @Override
    public byte[] publish(SessionTurn turn, int[] tokensAfterTurn, int historyLengthBeforeTurn, String parentCid) {
        return publisher.publish(turn, tokensAfterTurn, historyLengthBeforeTurn, parentCid);
    }

    /** Waits for the queued uploads (tests, graceful shutdown); true when none is left. */
    public boolean awaitUploads(Duration timeout) throws InterruptedException {
        return uploader.awaitIdle(timeout);
    }

    @Override
    public void close() {
        uploader.close();
    }
}
