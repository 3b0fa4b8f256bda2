package dev.loracle.runtime.engine;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * Identity of a KV block's contents (vLLM's block hash chain): SHA-256 of the parent block's hash and the block's
 * {@link KvBlockStorage#BLOCK_POSITIONS} token ids. The chain starts from a root that names everything else the KV
 * rows depend on (model profile, KV type, adapter set by content, attach mode), so two sequences share a block only
 * when its rows are bit-identical by construction.
 */
public record BlockHash(long a, long b, long c, long d) {

    public static BlockHash of(byte[] sha256) {
        if (sha256.length != 32) throw new IllegalArgumentException("a block hash has 32 bytes, got " + sha256.length);
        ByteBuffer bb = ByteBuffer.wrap(sha256).order(ByteOrder.BIG_ENDIAN);
        return new BlockHash(bb.getLong(), bb.getLong(), bb.getLong(), bb.getLong());
    }

    public byte[] bytes() {
        return ByteBuffer.allocate(32).putLong(a).putLong(b).putLong(c).putLong(d).array();
    }

    /** The root of a chain: what the rows depend on besides the tokens. */
    public static BlockHash root(String modelProfile, KvCacheType kv, AttachMode mode, List<AdapterIdentity> set) {
        MessageDigest md = sha256();
        md.update("loracle-kv-prefix-v1\0".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        md.update((modelProfile + "\0" + kv.name() + "\0" + (set.isEmpty() ? "BASE" : mode.name()) + "\0")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8));
        ByteBuffer w = ByteBuffer.allocate(4);
        for (AdapterIdentity m : set) {
            md.update(m.contentDigest());
            md.update(w.clear().putFloat(m.weight()).array());
        }
        return of(md.digest());
    }

    /** The hash of the block holding {@code tokens[from .. from + BLOCK_POSITIONS)} after {@code this}. */
    public BlockHash next(int[] tokens, int from) {
        MessageDigest md = sha256();
        md.update(bytes());
        ByteBuffer bb = ByteBuffer.allocate(4 * KvBlockStorage.BLOCK_POSITIONS).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < KvBlockStorage.BLOCK_POSITIONS; i++) bb.putInt(tokens[from + i]);
        md.update(bb.array());
        return of(md.digest());
    }

    /** Hashes of the first {@code blocks} full blocks of {@code tokens}. */
    public List<BlockHash> chain(int[] tokens, int blocks) {
        BlockHash[] out = new BlockHash[blocks];
        BlockHash h = this;
        for (int i = 0; i < blocks; i++) out[i] = h = h.next(tokens, i * KvBlockStorage.BLOCK_POSITIONS);
        return List.of(out);
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from the JDK", e);
        }
    }

    @Override
    public String toString() { return HexFormat.of().formatHex(bytes()); }

    /** One member of an adapter set as the KV rows see it: the adapter's content digest and its weight. */
    public record AdapterIdentity(byte[] contentDigest, float weight) {}
}
