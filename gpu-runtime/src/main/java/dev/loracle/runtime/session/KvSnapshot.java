package dev.loracle.runtime.session;

import dev.loracle.runtime.engine.KvCacheType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * The KV rows one turn of a session added, as whole blocks of the cache's own format (F32, or INT8 with scales), for
 * positions [{@code from}, {@code to}) (block aligned), with what they depend on: the parent snapshot's CID (empty for
 * the first), SHA-256 of the tokens [0, to), the prefix hash chain value at {@code to} (covers model profile, KV type,
 * adapter set by content and the tokens), the model profile, the adapter set as named on-chain, the numeric profile
 * (backend and kernel version: rows from another backend are not bit-identical) and the layout. The signature slot
 * holds the serving node's signature over {@link #signingHash()} (empty = unsigned; the node signs and checks).
 * <p>
 * {@link #decode} trusts nothing: every length is bounded, the payload must match the layout exactly, floats must be
 * finite; anything else is a {@link SnapshotRejectedException}.
 */
public record KvSnapshot(String parentCid, int from, int to, byte[] tokensHash, byte[] chainHash, String modelProfile,
                         String adapterSet, String numericProfile, KvCacheType kvType, int layers, int kvDim, int headDim,
                         List<byte[]> blocks, byte[] signature) {

    public static final int BLOCK_POSITIONS = 16;
    private static final int MAGIC = 0x4c4b5653; // "LKVS"
    private static final short VERSION = 1;
    private static final int MAX_TEXT = 1024, MAX_SIGNATURE = 256, MAX_POSITIONS = 1 << 20;
    /** Default bound on an encoded snapshot. */
    public static final int DEFAULT_MAX_BYTES = 64 << 20;

    public KvSnapshot {
        Objects.requireNonNull(parentCid, "parentCid");
        Objects.requireNonNull(kvType, "kvType");
        if (tokensHash.length != 32 || chainHash.length != 32) throw new IllegalArgumentException("hashes have 32 bytes");
        if (from < 0 || from % BLOCK_POSITIONS != 0 || to - from != blocks.size() * BLOCK_POSITIONS || blocks.isEmpty()) {
            throw new IllegalArgumentException("positions [" + from + ", " + to + ") are not " + blocks.size() + " whole blocks");
        }
        long bytes = blockBytes(kvType, layers, kvDim, headDim);
        for (byte[] b : blocks) if (b.length != bytes) throw new IllegalArgumentException("a block has " + bytes + " bytes, got " + b.length);
        blocks = List.copyOf(blocks);
        signature = signature == null ? new byte[0] : signature.clone();
    }

    /** Bytes of one block of this layout (as the engine's KV storage counts them). */
    public static long blockBytes(KvCacheType type, int layers, int kvDim, int headDim) {
        if (layers <= 0 || kvDim <= 0 || headDim <= 0 || kvDim % headDim != 0) return -1;
        return type.blockBytes(layers, kvDim, headDim);
    }

    public boolean signed() { return signature.length > 0; }

    public KvSnapshot withSignature(byte[] sig) {
        return new KvSnapshot(parentCid, from, to, tokensHash, chainHash, modelProfile, adapterSet, numericProfile, kvType,
                layers, kvDim, headDim, blocks, sig);
    }

    /** SHA-256 of the encoding without the signature: what the node signs. */
    public byte[] signingHash() { return sha256().digest(body()); }

    public byte[] encode() {
        ByteBuffer out = ByteBuffer.allocate(bodyBytes() + 2 + signature.length);
        writeBody(out);
        return out.putShort((short) signature.length).put(signature).array();
    }

    private byte[] body() {
        ByteBuffer out = ByteBuffer.allocate(bodyBytes());
        writeBody(out);
        return out.array();
    }

    private int bodyBytes() {
        long n = 4 + 2 + text(parentCid).length + 2 + 4 + 4 + 32 + 32 + 2 + text(modelProfile).length + 2 + text(adapterSet).length
                + 2 + text(numericProfile).length + 1 + 4 * 4 + (long) blocks.size() * blocks.getFirst().length;
        if (n > Integer.MAX_VALUE - 1024) throw new IllegalArgumentException("snapshot of " + n + " bytes is too large to encode");
        return (int) n;
    }

    private void writeBody(ByteBuffer out) {
        out.putInt(MAGIC).putShort(VERSION);
        putText(out, parentCid);
        out.putInt(from).putInt(to).put(tokensHash).put(chainHash);
        putText(out, modelProfile);
        putText(out, adapterSet);
        putText(out, numericProfile);
        out.put((byte) kvType.ordinal()).putInt(layers).putInt(kvDim).putInt(headDim).putInt(blocks.size());
        for (byte[] b : blocks) out.put(b);
    }

    private static byte[] text(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length > MAX_TEXT) throw new IllegalArgumentException("header text over " + MAX_TEXT + " bytes");
        return b;
    }

    private static void putText(ByteBuffer out, String s) {
        byte[] b = text(s);
        out.putShort((short) b.length).put(b);
    }

    /** Parses {@code bytes} (at most {@code maxBytes}) or throws SnapshotRejectedException (MALFORMED / OVERSIZED). */
    public static KvSnapshot decode(byte[] bytes, int maxBytes) {
        if (bytes.length > maxBytes) {
            throw new SnapshotRejectedException(SnapshotRejectedException.Reason.OVERSIZED, bytes.length + " bytes, the limit is " + maxBytes);
        }
        ByteBuffer in = ByteBuffer.wrap(bytes);
        try {
            if (in.getInt() != MAGIC) throw malformed("not a KV snapshot (bad magic)");
            short version = in.getShort();
            if (version != VERSION) throw malformed("unsupported version " + version);
            String parent = readText(in);
            int from = in.getInt(), to = in.getInt();
            if (from < 0 || to <= from || to > MAX_POSITIONS || from % BLOCK_POSITIONS != 0 || to % BLOCK_POSITIONS != 0) {
                throw malformed("bad position range [" + from + ", " + to + ")");
            }
            byte[] tokensHash = new byte[32], chainHash = new byte[32];
            in.get(tokensHash).get(chainHash);
            String model = readText(in), adapters = readText(in), numeric = readText(in);
            int kv = in.get();
            if (kv < 0 || kv >= KvCacheType.values().length) throw malformed("unknown KV type " + kv);
            KvCacheType type = KvCacheType.values()[kv];
            int layers = in.getInt(), kvDim = in.getInt(), headDim = in.getInt(), count = in.getInt();
            long blockBytes = blockBytes(type, layers, kvDim, headDim);
            if (blockBytes <= 0 || layers > 4096 || kvDim > 1 << 16) throw malformed("bad layout " + layers + " x " + kvDim + " / " + headDim);
            if (count != (to - from) / BLOCK_POSITIONS) throw malformed(count + " blocks for positions [" + from + ", " + to + ")");
            if ((long) count * blockBytes > in.remaining()) throw malformed("truncated: " + count + " blocks of " + blockBytes + " bytes announced");
            List<byte[]> blocks = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                byte[] b = new byte[(int) blockBytes];
                in.get(b);
                requireFinite(b, type, layers, kvDim, i);
                blocks.add(b);
            }
            int sigLen = Short.toUnsignedInt(in.getShort());
            if (sigLen > MAX_SIGNATURE) throw malformed("signature of " + sigLen + " bytes");
            byte[] sig = new byte[sigLen];
            in.get(sig);
            if (in.hasRemaining()) throw malformed(in.remaining() + " trailing bytes");
            return new KvSnapshot(parent, from, to, tokensHash, chainHash, model, adapters, numeric, type, layers, kvDim, headDim, blocks, sig);
        } catch (java.nio.BufferUnderflowException e) {
            throw malformed("truncated");
        } catch (IllegalArgumentException e) {
            throw malformed(e.getMessage());
        }
    }

    private static void requireFinite(byte[] block, KvCacheType type, int layers, int kvDim, int index) {
        if (type == KvCacheType.F16) {
            ByteBuffer h = ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN);
            for (int o = 0; o + 2 <= block.length; o += 2) {
                float v = Float.float16ToFloat(h.getShort(o));
                if (!Float.isFinite(v)) throw malformed("block " + index + " holds a bad value " + v);
            }
            return;
        }
        int floatsFrom = type == KvCacheType.F32 ? 0 : 2 * layers * BLOCK_POSITIONS * kvDim;
        ByteBuffer f = ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN);
        for (int o = floatsFrom; o + 4 <= block.length; o += 4) {
            float v = f.getFloat(o);
            if (!Float.isFinite(v) || (type == KvCacheType.INT8 && v < 0)) throw malformed("block " + index + " holds a bad value " + v);
        }
    }

    private static String readText(ByteBuffer in) {
        int n = Short.toUnsignedInt(in.getShort());
        if (n > MAX_TEXT) throw malformed("header text of " + n + " bytes");
        byte[] b = new byte[n];
        in.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private static SnapshotRejectedException malformed(String why) {
        return new SnapshotRejectedException(SnapshotRejectedException.Reason.MALFORMED, why);
    }

    /** SHA-256 of token ids [0, n) (little-endian int32): what a snapshot's {@code tokensHash} must equal. */
    public static byte[] tokensHash(int[] tokens, int n) {
        ByteBuffer b = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) b.putInt(tokens[i]);
        return sha256().digest(b.array());
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KvSnapshot k && Arrays.equals(encode(), k.encode());
    }

    @Override
    public int hashCode() { return Arrays.hashCode(chainHash); }
}
