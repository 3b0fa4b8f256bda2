package dev.loracle.oracle.session.snapshot;

import dev.loracle.oracle.TestModels;
import dev.loracle.contracts.devchain.DevAccounts;
import dev.loracle.ipfs.Cid;
import dev.loracle.ipfs.KuboRpcClient;
import dev.loracle.ipfs.unixfs.RawLeafFile;
import dev.loracle.oracle.chain.OracleKey;
import dev.loracle.oracle.config.OracleProperties;
import dev.loracle.runtime.engine.AttachMode;
import dev.loracle.runtime.engine.GenerationRequest;
import dev.loracle.runtime.engine.GenerationResult;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.engine.SequenceRequest;
import dev.loracle.runtime.session.KvSnapshot;
import dev.loracle.runtime.session.KvSnapshots;
import io.micrometer.core.instrument.MeterRegistry;
import java.math.BigInteger;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * A session served turn by turn on stories260K engines with the prefix cache on, as the node does: the canonical
 * history grows by each turn's user tokens and output, each turn publishes a snapshot, and the on-chain list of CIDs
 * grows with it.
 */
final class SessionFixture {
    static final KvSnapshots.AdapterSet BASE = new KvSnapshots.AdapterSet(List.of(), AttachMode.UNMERGED, "base");
    static final OracleKey ORACLE = key(1);
    static final OracleKey NOT_AN_ORACLE = key(3);
    static final Set<String> ORACLES = Set.of(ORACLE.address().toLowerCase());
    static final int OUTPUT_TOKENS = 20;

    private SessionFixture() {
    }

    static OracleKey key(int account) {
        return OracleKey.load(new OracleProperties.Key(DevAccounts.get(account).getEcKeyPair().getPrivateKey().toString(16), "", ""));
    }

    static InferenceEngine engine() {
        return InferenceEngine.open(TestModels.stories260K().withThreads(1).withPrefixCache(true));
    }

    static SnapshotProperties settings(Duration fetchTimeout, long maxBytes, int maxChainLength) {
        return new SnapshotProperties(true, fetchTimeout, maxBytes, maxChainLength, 16, 64L << 20, 1e-3, Duration.ofSeconds(60));
    }

    static SnapshotProperties settings() {
        return settings(Duration.ofSeconds(3), 64L << 20, 32);
    }

    static IpfsKvSnapshotExchange exchange(InferenceEngine engine, URI ipfs, SnapshotProperties settings, MeterRegistry meters) {
        return IpfsKvSnapshotExchange.create(engine, List.of(ipfs), ORACLE::signDigest, ORACLES::contains, settings, meters, Clock.systemUTC());
    }

    static SessionTurn turn(int k) {
        return new SessionTurn(BigInteger.valueOf(7), k, BigInteger.valueOf(100 + k), BASE);
    }

    static int[] userTokens(int k) {
        SplittableRandom r = new SplittableRandom(1000 + k);
        int[] t = new int[k == 0 ? 37 : 9 + k];
        for (int i = 0; i < t.length; i++) t[i] = 3 + r.nextInt(500);
        return t;
    }

    static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** Runs turn k over {@code history} (turns 0..k-1) on {@code engine}. */
    static GenerationResult generate(InferenceEngine engine, int[] history, int k) {
        return engine.submit(SequenceRequest.of(new GenerationRequest("", OUTPUT_TOKENS, 0.8f, 0.95f, 40 + k))
                .withPromptTokens(concat(history, userTokens(k))).withIgnoreEos(true)).result().join();
    }

    /** The output of turn k computed from scratch on a fresh engine: what every path must give. */
    static int[] recomputed(int[] history, int k) {
        try (InferenceEngine fresh = engine()) {
            return generate(fresh, history, k).tokens();
        }
    }

    /** The session as the chain has it: the canonical history and one CID per turn (hex of the on-chain bytes, "" for none). */
    static final class Session {
        int[] history = new int[0];
        final List<String> cids = new ArrayList<>();
        String lastCid = "";

        /** Serves turn {@code cids.size()} on {@code engine} and publishes its snapshot through {@code exchange}. */
        GenerationResult serve(InferenceEngine engine, KvSnapshotExchange exchange) {
            int k = cids.size();
            GenerationResult r = generate(engine, history, k);
            int[] after = concat(concat(history, userTokens(k)), r.tokens());
            byte[] cid = exchange.publish(turn(k), after, history.length, lastCid);
            String text = cid.length == 0 ? "" : "0x" + java.util.HexFormat.of().formatHex(cid);
            cids.add(text);
            if (!text.isEmpty()) lastCid = text;
            history = after;
            return r;
        }
    }

    /** Stores {@code snapshot} (encoded as is) on the node and returns its CID as text, as a dishonest node would publish it. */
    static String put(KuboRpcClient node, KvSnapshot snapshot) {
        RawLeafFile file = RawLeafFile.of(snapshot.encode(), SnapshotPublisher.CHUNK_BYTES);
        for (RawLeafFile.Block b : file.blocks()) node.blockPut(b.bytes(), b.cid().codec());
        return file.cid().toString();
    }

    static KvSnapshot withNumericProfile(KvSnapshot s, String profile) {
        return new KvSnapshot(s.parentCid(), s.from(), s.to(), s.tokensHash(), s.chainHash(), s.modelProfile(), s.adapterSet(),
                profile, s.kvType(), s.layers(), s.kvDim(), s.headDim(), s.blocks(), null);
    }

    static KvSnapshot signedBy(KvSnapshot s, OracleKey key) {
        KvSnapshot unsigned = s.withSignature(null);
        return unsigned.withSignature(key.signDigest(unsigned.signingHash()));
    }

    static Cid cid(String text) {
        return CidText.parse(text);
    }
}
