package dev.loracle.contracts;

/**
 * Mirror of the on-chain check in {@code CidBytes.sol}: the binary CID forms the coordinator accepts for adapters.
 * <ul>
 *   <li>CIDv0: {@code 0x12 0x20} + 32-byte sha2-256 digest (34 bytes)</li>
 *   <li>CIDv1: {@code 0x01}, codec {@code 0x55} (raw) or {@code 0x70} (dag-pb), {@code 0x12 0x20} + digest (36 bytes)</li>
 * </ul>
 * Lets a client reject an adapter before paying for a transaction that would revert with {@code InvalidCid}.
 */
public final class CidBytes {
    public static final int CID_V0_LENGTH = 34;
    public static final int CID_V1_LENGTH = 36;
    private static final byte SHA2_256 = 0x12;
    private static final byte DIGEST_LENGTH = 0x20;
    private static final byte CODEC_RAW = 0x55;
    private static final byte CODEC_DAG_PB = 0x70;

    private CidBytes() {}

    /** True when the coordinator would accept {@code cid}. */
    public static boolean isValid(byte[] cid) {
        return problem(cid) == null;
    }

    /**
     * Checks {@code cid} and throws a message naming what is wrong.
     *
     * @throws IllegalArgumentException when the coordinator would reject it
     */
    public static byte[] requireValid(byte[] cid) {
        String problem = problem(cid);
        if (problem != null) {
            throw new IllegalArgumentException("invalid adapter CID: " + problem);
        }
        return cid;
    }

    private static String problem(byte[] cid) {
        if (cid == null) {
            return "null";
        }
        if (cid.length == CID_V0_LENGTH) {
            return cid[0] == SHA2_256 && cid[1] == DIGEST_LENGTH ? null : "34-byte CIDv0 must start with 0x1220";
        }
        if (cid.length == CID_V1_LENGTH) {
            if (cid[0] != 0x01) {
                return "36-byte CID must start with version 0x01";
            }
            if (cid[1] != CODEC_RAW && cid[1] != CODEC_DAG_PB) {
                return String.format("CIDv1 codec 0x%02x is not raw (0x55) or dag-pb (0x70)", cid[1] & 0xff);
            }
            return cid[2] == SHA2_256 && cid[3] == DIGEST_LENGTH ? null : "CIDv1 multihash must be sha2-256 (0x1220)";
        }
        return "length " + cid.length + " (expected 34 for CIDv0 or 36 for CIDv1 with a sha2-256 digest)";
    }
}
