package dev.loracle.ipfs;

import java.io.ByteArrayOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * A content identifier restricted to what adapters use: CIDv0 and CIDv1, codecs raw and dag-pb,
 * multihash sha2-256. Immutable; equality is by version, codec and digest.
 *
 * <p>Text: CIDv0 is base58btc {@code Qm...}; CIDv1 prints as base32 {@code b...} and parses from base32
 * ({@code b}/{@code B}) or base58btc ({@code z}). Binary form ({@link #toBytes()}) is what the contracts store.
 */
public final class Cid {
    /** Multicodec codes of the block formats accepted. */
    public enum Codec {
        RAW(0x55), DAG_PB(0x70);

        private final int code;

        Codec(int code) {
            this.code = code;
        }

        public int code() {
            return code;
        }

        static Codec fromCode(long code) {
            for (Codec c : values()) {
                if (c.code == code) {
                    return c;
                }
            }
            throw new InvalidCidException("unsupported CID codec 0x" + Long.toHexString(code)
                    + " (only raw 0x55 and dag-pb 0x70 are accepted)");
        }
    }

    /** Multihash code of sha2-256, the only hash function accepted. */
    public static final int SHA2_256 = 0x12;
    public static final int DIGEST_LENGTH = 32;

    private final int version;
    private final Codec codec;
    private final byte[] digest;

    private Cid(int version, Codec codec, byte[] digest) {
        this.version = version;
        this.codec = codec;
        this.digest = digest;
    }

    /** A CIDv1 for the given codec and sha2-256 digest. */
    public static Cid of(Codec codec, byte[] sha256Digest) {
        return new Cid(1, Objects.requireNonNull(codec, "codec"), checkDigest(sha256Digest));
    }

    /** A CIDv0 (always dag-pb) for the given sha2-256 digest. */
    public static Cid v0(byte[] sha256Digest) {
        return new Cid(0, Codec.DAG_PB, checkDigest(sha256Digest));
    }

    /** The CIDv1 of a block's bytes under the given codec (hashes the bytes). */
    public static Cid ofBlock(Codec codec, byte[] block) {
        return of(codec, sha256(block));
    }

    private static byte[] checkDigest(byte[] digest) {
        Objects.requireNonNull(digest, "digest");
        if (digest.length != DIGEST_LENGTH) {
            throw new InvalidCidException("sha2-256 digest must be 32 bytes, got " + digest.length);
        }
        return digest.clone();
    }

    public static Cid parse(String text) {
        if (text == null || text.isBlank()) {
            throw new InvalidCidException("CID is empty");
        }
        String s = text.strip();
        char prefix = s.charAt(0);
        boolean v0 = s.length() == 46 && s.startsWith("Qm");
        if (!v0 && prefix != 'b' && prefix != 'B' && prefix != 'z') {
            throw new InvalidCidException("unsupported CID text '" + abbreviate(s)
                    + "': expected CIDv0 'Qm...' or CIDv1 in base32 ('b...') or base58btc ('z...')");
        }
        try {
            if (v0) {
                return fromBytes(Multibase.decodeBase58(s));
            }
            byte[] bytes = prefix == 'z' ? Multibase.decodeBase58(s.substring(1)) : Multibase.decodeBase32(s.substring(1));
            if (bytes.length > 0 && bytes[0] == SHA2_256) {
                throw new InvalidCidException("a multibase-prefixed CID must be version 1, found a bare multihash");
            }
            return fromBytes(bytes);
        } catch (InvalidCidException e) {
            throw new InvalidCidException("invalid CID '" + abbreviate(s) + "': " + e.getMessage());
        }
    }

    /** Parses the binary form: a bare sha2-256 multihash (CIDv0) or {@code <0x01><codec><multihash>}. */
    public static Cid fromBytes(byte[] bytes) {
        Objects.requireNonNull(bytes, "bytes");
        if (bytes.length == 34 && bytes[0] == SHA2_256 && bytes[1] == DIGEST_LENGTH) {
            return new Cid(0, Codec.DAG_PB, Arrays.copyOfRange(bytes, 2, 34));
        }
        int[] pos = {0};
        long version;
        long codec;
        try {
            version = Varint.read(bytes, pos);
            if (version != 1) {
                throw new InvalidCidException("unsupported CID version " + version + " (binary CID of "
                        + bytes.length + " bytes)");
            }
            codec = Varint.read(bytes, pos);
        } catch (IllegalArgumentException e) {
            if (e instanceof InvalidCidException ice) {
                throw ice;
            }
            throw new InvalidCidException("malformed binary CID: " + e.getMessage());
        }
        Codec c = Codec.fromCode(codec);
        byte[] digest = readSha256Multihash(bytes, pos);
        if (pos[0] != bytes.length) {
            throw new InvalidCidException("trailing " + (bytes.length - pos[0]) + " bytes after the CID");
        }
        return new Cid(1, c, digest);
    }

    private static byte[] readSha256Multihash(byte[] bytes, int[] pos) {
        long hashCode;
        long length;
        try {
            hashCode = Varint.read(bytes, pos);
            length = Varint.read(bytes, pos);
        } catch (IllegalArgumentException e) {
            throw new InvalidCidException("malformed multihash: " + e.getMessage());
        }
        if (hashCode != SHA2_256) {
            throw new InvalidCidException("unsupported multihash function 0x" + Long.toHexString(hashCode)
                    + " (only sha2-256 0x12 is accepted)");
        }
        if (length != DIGEST_LENGTH || bytes.length - pos[0] < DIGEST_LENGTH) {
            throw new InvalidCidException("sha2-256 multihash must carry a 32-byte digest");
        }
        byte[] digest = Arrays.copyOfRange(bytes, pos[0], pos[0] + DIGEST_LENGTH);
        pos[0] += DIGEST_LENGTH;
        return digest;
    }

    public int version() {
        return version;
    }

    public Codec codec() {
        return codec;
    }

    /** The sha2-256 digest (32 bytes, a copy). */
    public byte[] digest() {
        return digest.clone();
    }

    /** The multihash: {@code 0x12 0x20 <digest>}. */
    public byte[] multihash() {
        byte[] mh = new byte[2 + DIGEST_LENGTH];
        mh[0] = SHA2_256;
        mh[1] = DIGEST_LENGTH;
        System.arraycopy(digest, 0, mh, 2, DIGEST_LENGTH);
        return mh;
    }

    public byte[] toBytes() {
        if (version == 0) {
            return multihash();
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(36);
        Varint.write(1, out);
        Varint.write(codec.code(), out);
        out.writeBytes(multihash());
        return out.toByteArray();
    }

    /** The same content as a CIDv1 (identity for v1). */
    public Cid toV1() {
        return version == 1 ? this : new Cid(1, codec, digest);
    }

    /** The CIDv0 form; only dag-pb CIDs have one. */
    public Cid toV0() {
        if (codec != Codec.DAG_PB) {
            throw new InvalidCidException("a " + codec + " CID has no CIDv0 form");
        }
        return version == 0 ? this : new Cid(0, codec, digest);
    }

    /** Whether {@code block} hashes to this CID's digest. */
    public boolean matches(byte[] block) {
        return MessageDigest.isEqual(digest, sha256(block));
    }

    /** Whether {@code sha256} equals this CID's digest (constant time). */
    public boolean matchesDigest(byte[] sha256) {
        return MessageDigest.isEqual(digest, sha256);
    }

    public String toBase32() {
        if (version == 0) {
            throw new IllegalStateException("CIDv0 has no multibase form; use toV1()");
        }
        return "b" + Multibase.base32(toBytes());
    }

    public String toBase58btc() {
        return version == 0 ? Multibase.base58(toBytes()) : "z" + Multibase.base58(toBytes());
    }

    /** CIDv0 -> base58btc {@code Qm...}; CIDv1 -> base32 {@code b...}. */
    @Override
    public String toString() {
        return version == 0 ? Multibase.base58(toBytes()) : toBase32();
    }

    public String digestHex() {
        return HexFormat.of().formatHex(digest);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Cid other && version == other.version && codec == other.codec
                && Arrays.equals(digest, other.digest);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * version + codec.hashCode()) + Arrays.hashCode(digest);
    }

    static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 unavailable", e);
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }
}
