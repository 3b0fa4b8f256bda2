package dev.loracle.runtime.session;

import dev.loracle.runtime.engine.AdapterWeight;
import dev.loracle.runtime.engine.AttachMode;
import dev.loracle.runtime.engine.BlockHash;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.engine.KvCacheType;
import dev.loracle.runtime.model.ModelConfig;
import dev.loracle.runtime.session.SnapshotRejectedException.Reason;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Moves a session's KV rows between engines: {@link #capture} encodes the blocks a finished turn left in the prefix
 * cache; {@link #resume} checks a chain of snapshots against the session's tokens and this engine, imports it into the
 * prefix cache, and spot-checks it by recomputing the last block, so the next turn prefills only its new tokens. A
 * snapshot is an optimisation, never trusted: any failed check drops what was imported and throws
 * {@link SnapshotRejectedException}; the caller then runs a full prefill with the same result.
 */
public final class KvSnapshots {
    private static final int B = KvSnapshot.BLOCK_POSITIONS;
    private final InferenceEngine engine;
    private final float tolerance;

    /** @param tolerance how far a recomputed row may be from the snapshot's (relative to the block's largest value) */
    public KvSnapshots(InferenceEngine engine, float tolerance) {
        this.engine = Objects.requireNonNull(engine, "engine");
        this.tolerance = tolerance;
    }

    /** Which adapter set (as resident in this engine, in which mode) and how it is named on-chain. */
    public record AdapterSet(List<AdapterWeight> members, AttachMode mode, String name) {
        public AdapterSet {
            members = List.copyOf(members);
            Objects.requireNonNull(mode, "mode");
            Objects.requireNonNull(name, "name");
        }
    }

    /**
     * The rows of positions [{@code from}, whole blocks of {@code tokens}) from the prefix cache, unsigned; empty when
     * there is no new whole block or the blocks are no longer cached. {@code from} is the previous snapshot's end.
     */
    public Optional<KvSnapshot> capture(String parentCid, int[] tokens, int from, AdapterSet set) {
        if (from % B != 0) throw new IllegalArgumentException("a snapshot starts at a block boundary, got " + from);
        int to = tokens.length / B * B;
        if (to <= from) return Optional.empty();
        List<BlockHash> chain = engine.prefixRoot(set.members(), set.mode()).chain(tokens, to / B);
        return engine.cachedKvBlocks(chain.subList(from / B, to / B)).map(rows -> {
            ModelConfig c = engine.weights().config();
            return new KvSnapshot(parentCid, from, to, KvSnapshot.tokensHash(tokens, to), chain.getLast().bytes(),
                    engine.modelProfile(), set.name(), engine.numericProfile(), engine.config().kvCache(), c.nLayers(),
                    kvDim(c), c.headDim(), rows, null);
        });
    }

    /**
     * Checks {@code chain} (oldest first, contiguous from position 0) against the session's {@code tokens} and this
     * engine (profiles, layout, token hashes, prefix hash chain, {@code signatureCheck}), imports it into the prefix
     * cache and spot-checks the last block. Returns the positions now cached; throws SnapshotRejectedException with
     * nothing of the chain left in the cache.
     */
    public int resume(List<KvSnapshot> chain, int[] tokens, AdapterSet set, Consumer<KvSnapshot> signatureCheck) {
        if (chain.isEmpty()) return 0;
        BlockHash root = engine.prefixRoot(set.members(), set.mode());
        int end = 0;
        for (KvSnapshot s : chain) {
            if (s.from() != end) throw mismatch("chain is not contiguous: a link starts at " + s.from() + ", expected " + end);
            requireMatches(s, tokens, set);
            signatureCheck.accept(s);
            end = s.to();
        }
        List<BlockHash> hashes = root.chain(tokens, end / B);
        if (!Arrays.equals(hashes.getLast().bytes(), chain.getLast().chainHash())) {
            throw mismatch("prefix hash differs (adapter set content, weights, mode or KV type)");
        }
        List<byte[]> rows = chain.stream().flatMap(s -> s.blocks().stream()).toList();
        engine.importKvBlocks(hashes, rows);
        try {
            byte[] recomputed = engine.recomputeLastKvBlock(Arrays.copyOf(tokens, end), set.members(), set.mode());
            float diff = maxRelativeDiff(recomputed, rows.getLast(), engine.config().kvCache(), engine.weights().config());
            if (!(diff <= tolerance)) {
                throw new SnapshotRejectedException(Reason.SPOT_CHECK, "recomputed last block differs by " + diff + " (tolerance " + tolerance + ")");
            }
        } catch (RuntimeException e) {
            engine.forgetKvBlocks(hashes);
            throw e;
        }
        return end;
    }

    private void requireMatches(KvSnapshot s, int[] tokens, AdapterSet set) {
        ModelConfig c = engine.weights().config();
        if (!s.modelProfile().equals(engine.modelProfile())) throw mismatch("model profile '" + s.modelProfile() + "', this node runs '" + engine.modelProfile() + "'");
        if (!s.numericProfile().equals(engine.numericProfile())) throw mismatch("numeric profile '" + s.numericProfile() + "', this node runs '" + engine.numericProfile() + "'");
        if (!s.adapterSet().equals(set.name())) throw mismatch("adapter set '" + s.adapterSet() + "', the session's is '" + set.name() + "'");
        if (s.kvType() != engine.config().kvCache() || s.layers() != c.nLayers() || s.kvDim() != kvDim(c) || s.headDim() != c.headDim()) {
            throw mismatch("KV layout " + s.kvType() + " " + s.layers() + "x" + s.kvDim() + "/" + s.headDim() + " differs from this engine's");
        }
        if (s.to() > tokens.length) throw mismatch("covers " + s.to() + " positions, the session has " + tokens.length + " tokens");
        if (!Arrays.equals(s.tokensHash(), KvSnapshot.tokensHash(tokens, s.to()))) throw mismatch("token hash differs from the session's tokens [0, " + s.to() + ")");
    }

    private static int kvDim(ModelConfig c) { return c.nKvHeads() * c.headDim(); }

    private static SnapshotRejectedException mismatch(String why) { return new SnapshotRejectedException(Reason.MISMATCH, why); }

    /** max |a - b| over the block's values (INT8 dequantized), relative to max(1, max |b|). */
    static float maxRelativeDiff(byte[] a, byte[] b, KvCacheType type, ModelConfig c) {
        float[] x = values(a, type, c), y = values(b, type, c);
        float diff = 0, amax = 1;
        for (int i = 0; i < x.length; i++) {
            diff = Math.max(diff, Math.abs(x[i] - y[i]));
            amax = Math.max(amax, Math.abs(y[i]));
        }
        return diff / amax;
    }

    private static float[] values(byte[] block, KvCacheType type, ModelConfig c) {
        ByteBuffer in = ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN);
        if (type == KvCacheType.F32) {
            float[] v = new float[block.length / 4];
            in.asFloatBuffer().get(v);
            return v;
        }
        if (type == KvCacheType.F16) {
            float[] v = new float[block.length / 2];
            for (int i = 0; i < v.length; i++) v[i] = Float.float16ToFloat(in.getShort(2 * i));
            return v;
        }
        int hd = c.headDim(), elems = 2 * c.nLayers() * B * kvDim(c);
        float[] scales = new float[elems / hd];
        in.position(elems);
        in.asFloatBuffer().get(scales);
        float[] v = new float[elems];
        for (int i = 0; i < elems; i++) v[i] = block[i] * scales[i / hd];
        return v;
    }
}
