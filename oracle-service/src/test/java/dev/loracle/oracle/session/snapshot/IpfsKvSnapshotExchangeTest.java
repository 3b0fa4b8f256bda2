package dev.loracle.oracle.session.snapshot;

import static dev.loracle.oracle.session.snapshot.SessionFixture.NOT_AN_ORACLE;
import static dev.loracle.oracle.session.snapshot.SessionFixture.ORACLE;
import static org.assertj.core.api.Assertions.assertThat;

import dev.loracle.ipfs.IpfsNodeProcess;
import dev.loracle.ipfs.unixfs.RawLeafFile;
import dev.loracle.runtime.engine.GenerationResult;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.session.KvSnapshot;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two nodes (two stories260K engines with the prefix cache on) and a real js-ipfs node: node A serves three turns of a
 * session and publishes a snapshot after each; node B, which served none of them, resumes from the snapshot chain
 * and its next turn gives the tokens of a full recompute. Every bad snapshot is rejected with its reason, and the turn
 * then recomputes to the same tokens.
 */
class IpfsKvSnapshotExchangeTest {
    private static IpfsNodeProcess ipfs;

    @BeforeAll
    static void startIpfs() {
        ipfs = IpfsNodeProcess.start();
    }

    @AfterAll
    static void stopIpfs() {
        if (ipfs != null) ipfs.close();
    }

    /** Node A served turns 0..2 (uploads done); {@link #expected} is turn 3 computed from scratch. */
    private record Served(SessionFixture.Session session, List<KvSnapshot> links, int[] expected) {}

    private static Served servedOnA(int turns) throws Exception {
        SessionFixture.Session session = new SessionFixture.Session();
        try (InferenceEngine a = SessionFixture.engine();
             IpfsKvSnapshotExchange exchange = SessionFixture.exchange(a, ipfs.apiUrl(), SessionFixture.settings(), new SimpleMeterRegistry())) {
            for (int k = 0; k < turns; k++) session.serve(a, exchange);
            assertThat(exchange.awaitUploads(Duration.ofSeconds(30))).isTrue();
        }
        List<KvSnapshot> links = new ArrayList<>();
        for (String cid : session.cids) {
            assertThat(cid).as("every turn of this session fills a new block").isNotEmpty();
            links.add(KvSnapshot.decode(ipfs.client().cat(SessionFixture.cid(cid), Duration.ofSeconds(10)), 1 << 26));
        }
        return new Served(session, links, SessionFixture.recomputed(session.history, turns));
    }

    @Test
    void aNodeThatServedNoTurnResumesFromTheSnapshotsWithTheTokensOfAFullRecompute() throws Exception {
        Served served = servedOnA(3);
        assertThat(served.links()).extracting(KvSnapshot::signed).containsOnly(true);
        assertThat(served.links().get(1).from()).isEqualTo(served.links().get(0).to());
        assertThat(served.links().get(1).parentCid()).isEqualTo(SessionFixture.cid(served.session().cids.get(0)).toString());
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        try (InferenceEngine b = SessionFixture.engine();
             IpfsKvSnapshotExchange exchange = SessionFixture.exchange(b, ipfs.apiUrl(), SessionFixture.settings(), meters)) {
            ResumeOutcome outcome = exchange.prepare(SessionFixture.turn(3), served.session().history, served.session().cids);
            assertThat(outcome.source()).as(outcome.detail()).isEqualTo(ResumeOutcome.Source.SNAPSHOT);
            assertThat(outcome.positions()).isEqualTo(served.links().getLast().to());
            GenerationResult r = SessionFixture.generate(b, served.session().history, 3);
            assertThat(r.tokens()).isEqualTo(served.expected());
            assertThat(r.reusedPromptTokens()).isEqualTo(outcome.positions());
            assertThat(meters.counter("loracle.session.snapshot.reused").count()).isEqualTo(1);
            assertThat(meters.counter("loracle.session.resume", "source", "snapshot").count()).isEqualTo(1);
        }
    }

    @Test
    void theTurnAfterFetchesOnlyTheLinkTheNodeLacksAndItsOwnCacheNeedsNoIpfs() throws Exception {
        SessionFixture.Session session = new SessionFixture.Session();
        SimpleMeterRegistry metersA = new SimpleMeterRegistry(), metersB = new SimpleMeterRegistry();
        try (InferenceEngine a = SessionFixture.engine(); InferenceEngine b = SessionFixture.engine();
             IpfsKvSnapshotExchange onA = SessionFixture.exchange(a, ipfs.apiUrl(), SessionFixture.settings(), metersA);
             IpfsKvSnapshotExchange onB = SessionFixture.exchange(b, ipfs.apiUrl(), SessionFixture.settings(), metersB)) {
            for (int k = 0; k < 3; k++) session.serve(a, onA);
            ResumeOutcome own = onA.prepare(SessionFixture.turn(3), session.history, session.cids);
            assertThat(own.source()).as(own.detail()).isEqualTo(ResumeOutcome.Source.PREFIX_CACHE);
            assertThat(metersA.counter("loracle.session.snapshot.fetched.bytes").count()).isZero();

            assertThat(onA.awaitUploads(Duration.ofSeconds(30))).isTrue();
            assertThat(onB.prepare(SessionFixture.turn(3), session.history, session.cids).source()).isEqualTo(ResumeOutcome.Source.SNAPSHOT);
            session.serve(b, onB);                       // turn 3 on B
            assertThat(onB.awaitUploads(Duration.ofSeconds(30))).isTrue();
            String bLink = session.cids.getLast();
            long bLinkBytes = ipfs.client().cat(SessionFixture.cid(bLink), Duration.ofSeconds(10)).length;

            int[] expected = SessionFixture.recomputed(session.history, 4);
            ResumeOutcome back = onA.prepare(SessionFixture.turn(4), session.history, session.cids);
            assertThat(back.source()).as(back.detail()).isEqualTo(ResumeOutcome.Source.SNAPSHOT);
            assertThat(metersA.counter("loracle.session.snapshot.fetched.bytes").count()).as("only B's link").isEqualTo(bLinkBytes);
            GenerationResult r = SessionFixture.generate(a, session.history, 4);
            assertThat(r.tokens()).isEqualTo(expected);
            assertThat(r.reusedPromptTokens()).isEqualTo(back.positions());
        }
    }

    @Test
    void theChainRestartsAtPositionZeroEveryMaxChainLengthTurnsSoResumingWalksBackNoFurther() throws Exception {
        SessionFixture.Session session = new SessionFixture.Session();
        SnapshotProperties shortChains = SessionFixture.settings(Duration.ofSeconds(3), 64L << 20, 2);
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        try (InferenceEngine a = SessionFixture.engine(); InferenceEngine b = SessionFixture.engine();
             IpfsKvSnapshotExchange onA = SessionFixture.exchange(a, ipfs.apiUrl(), shortChains, new SimpleMeterRegistry());
             IpfsKvSnapshotExchange onB = SessionFixture.exchange(b, ipfs.apiUrl(), shortChains, meters)) {
            for (int k = 0; k < 3; k++) session.serve(a, onA);
            assertThat(onA.awaitUploads(Duration.ofSeconds(30))).isTrue();
            KvSnapshot third = KvSnapshot.decode(ipfs.client().cat(SessionFixture.cid(session.cids.get(2)), Duration.ofSeconds(10)), 1 << 26);
            assertThat(third.from()).as("turn 2 of chains of 2 starts a new chain").isZero();
            assertThat(third.parentCid()).isEmpty();
            int[] expected = SessionFixture.recomputed(session.history, 3);
            ResumeOutcome outcome = onB.prepare(SessionFixture.turn(3), session.history, session.cids);
            assertThat(outcome.source()).as(outcome.detail()).isEqualTo(ResumeOutcome.Source.SNAPSHOT);
            assertThat(meters.counter("loracle.session.snapshot.fetched.bytes").count()).as("only the restarted link")
                    .isEqualTo(third.encode().length);
            assertThat(SessionFixture.generate(b, session.history, 3).tokens()).isEqualTo(expected);
        }
    }

    @Test
    void aSnapshotMissingOnIpfsTimesOutAndTheTurnRecomputes() throws Exception {
        Served served = servedOnA(3);
        List<String> cids = new ArrayList<>(served.session().cids);
        cids.set(2, RawLeafFile.of("never uploaded".getBytes(), SnapshotPublisher.CHUNK_BYTES).cid().toString());
        long t0 = System.nanoTime();
        assertRejected(served, cids, "unavailable", ipfs.apiUrl(), SessionFixture.settings(Duration.ofMillis(1500), 64L << 20, 32));
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(8));
    }

    @Test
    void tamperedBytesFailTheirCid() throws Exception {
        Served served = servedOnA(3);
        try (TamperingIpfsProxy attacker = new TamperingIpfsProxy(ipfs.apiUrl())) {
            assertRejected(served, served.session().cids, "cid_mismatch", attacker.url(), SessionFixture.settings());
        }
    }

    @Test
    void aSnapshotOfAnotherNumericProfileIsAMismatch() throws Exception {
        Served served = servedOnA(3);
        replaceLastAndExpect(served, s -> SessionFixture.signedBy(SessionFixture.withNumericProfile(s, "cuda:0;dot=int8;kv-kernels=1"), ORACLE), "mismatch");
    }

    @Test
    void anUnsignedSnapshotIsRejected() throws Exception {
        replaceLastAndExpect(servedOnA(3), s -> s.withSignature(null), "unsigned");
    }

    @Test
    void aSnapshotSignedByAKeyThatIsNoOracleIsRejected() throws Exception {
        replaceLastAndExpect(servedOnA(3), s -> SessionFixture.signedBy(s, NOT_AN_ORACLE), "not_oracle");
    }

    @Test
    void anOversizedSnapshotIsRejected() throws Exception {
        Served served = servedOnA(3);
        assertRejected(served, served.session().cids, "oversized", ipfs.apiUrl(), SessionFixture.settings(Duration.ofSeconds(3), 1024, 32));
    }

    @Test
    void aChainLongerThanTheLimitIsRejected() throws Exception {
        Served served = servedOnA(3);
        assertRejected(served, served.session().cids, "chain_too_long", ipfs.apiUrl(), SessionFixture.settings(Duration.ofSeconds(3), 64L << 20, 2));
    }

    @Test
    void publishReturnsTheCidAtOnceWhileTheUploadHangsAndAFailedUploadIsCounted() throws Exception {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        try (ServerSocket blackhole = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             InferenceEngine a = SessionFixture.engine();
             IpfsKvSnapshotExchange exchange = SessionFixture.exchange(a, URI.create("http://127.0.0.1:" + blackhole.getLocalPort()),
                     SessionFixture.settings(), meters)) {
            SessionFixture.Session session = new SessionFixture.Session();
            session.serve(a, exchange);
            session.serve(a, exchange);
            assertThat(session.cids).allSatisfy(c -> assertThat(c).isNotEmpty());
            assertThat(meters.timer("loracle.session.snapshot.publish").max(java.util.concurrent.TimeUnit.SECONDS))
                    .as("publish did not wait for the node (an upload waits up to 30 s)").isLessThan(2.0);
            assertThat(exchange.awaitUploads(Duration.ofMillis(300))).as("the uploads still hang on the dead node").isFalse();
            assertThat(meters.counter("loracle.session.snapshot.published").count()).isEqualTo(2);
            blackhole.close();   // the node goes away: the waiting uploads fail
            assertThat(exchange.awaitUploads(Duration.ofSeconds(60))).isTrue();
            assertThat(meters.counter("loracle.session.snapshot.upload.failed").count()).isEqualTo(2);
            assertThat(meters.counter("loracle.session.snapshot.uploaded").count()).isZero();
        }
    }

    /** Node B meets a chain whose newest link is {@code forge(original)}, re-stored on IPFS under its own CID. */
    private static void replaceLastAndExpect(Served served, UnaryOperator<KvSnapshot> forge, String reason) throws Exception {
        List<String> cids = new ArrayList<>(served.session().cids);
        cids.set(cids.size() - 1, SessionFixture.put(ipfs.client(), forge.apply(served.links().getLast())));
        assertRejected(served, cids, reason, ipfs.apiUrl(), SessionFixture.settings());
    }

    private static void assertRejected(Served served, List<String> cids, String reason, URI ipfsUrl, SnapshotProperties settings) throws Exception {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        try (InferenceEngine b = SessionFixture.engine();
             IpfsKvSnapshotExchange exchange = SessionFixture.exchange(b, ipfsUrl, settings, meters)) {
            ResumeOutcome outcome = exchange.prepare(SessionFixture.turn(3), served.session().history, cids);
            assertThat(outcome.source()).as(outcome.detail()).isEqualTo(ResumeOutcome.Source.RECOMPUTE);
            assertThat(outcome.detail()).contains(reason);
            assertThat(meters.counter("loracle.session.snapshot.rejected", "reason", reason).count()).as(outcome.detail()).isEqualTo(1);
            assertThat(b.prefixCache().cachedBlocks()).as("nothing of a rejected chain stays cached").isZero();
            GenerationResult r = SessionFixture.generate(b, served.session().history, 3);
            assertThat(r.tokens()).isEqualTo(served.expected());
            assertThat(r.reusedPromptTokens()).isZero();
        }
    }

}
