package dev.loracle.ipfs.car;

import dev.loracle.ipfs.Cid;
import dev.loracle.ipfs.InvalidCidException;
import dev.loracle.ipfs.VerificationException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Decodes the CARv1 header, a dag-cbor map {@code {"roots": [CID...], "version": 1}}. Only the CBOR subset the
 * header needs is understood (unsigned ints, byte and text strings, arrays, maps, tag 42); anything else is an error.
 */
final class CarHeaderDecoder {
    private static final int CID_TAG = 42;

    private final byte[] bytes;
    private int pos;

    private CarHeaderDecoder(byte[] bytes) {
        this.bytes = bytes;
    }

    record Header(long version, List<Cid> roots) {
    }

    static Header decode(byte[] bytes) {
        CarHeaderDecoder d = new CarHeaderDecoder(bytes);
        Object value = d.item(0);
        if (d.pos != bytes.length) {
            throw new VerificationException("CAR header has " + (bytes.length - d.pos) + " trailing bytes");
        }
        if (!(value instanceof List<?> entries) || entries.size() % 2 != 0 || !d.wasMap) {
            throw new VerificationException("CAR header is not a CBOR map");
        }
        Long version = null;
        List<Cid> roots = null;
        for (int i = 0; i < entries.size(); i += 2) {
            Object key = entries.get(i);
            Object v = entries.get(i + 1);
            if ("version".equals(key) && v instanceof Long l) {
                version = l;
            } else if ("roots".equals(key) && v instanceof List<?> list) {
                roots = new ArrayList<>();
                for (Object r : list) {
                    if (!(r instanceof Cid cid)) {
                        throw new VerificationException("CAR header root is not a CID (tag 42)");
                    }
                    roots.add(cid);
                }
            }
        }
        if (version == null) {
            throw new VerificationException("CAR header has no version");
        }
        if (version != 1) {
            throw new VerificationException("unsupported CAR version " + version + " (only CARv1 is read)");
        }
        if (roots == null || roots.isEmpty()) {
            throw new VerificationException("CAR header has no roots");
        }
        return new Header(version, List.copyOf(roots));
    }

    private boolean wasMap;

    private Object item(int depth) {
        if (depth > 8) {
            throw new VerificationException("CAR header nests too deeply");
        }
        int initial = u8();
        int major = initial >>> 5;
        long arg = argument(initial & 31);
        switch (major) {
            case 0:
                return arg;
            case 2:
                return take(arg);
            case 3:
                return new String(take(arg), StandardCharsets.UTF_8);
            case 4: {
                List<Object> list = new ArrayList<>();
                for (long i = 0; i < arg; i++) {
                    list.add(item(depth + 1));
                }
                wasMap = false;
                return list;
            }
            case 5: {
                List<Object> kv = new ArrayList<>();
                for (long i = 0; i < arg; i++) {
                    kv.add(item(depth + 1));
                    kv.add(item(depth + 1));
                }
                wasMap = true;
                return kv;
            }
            case 6: {
                if (arg != CID_TAG) {
                    throw new VerificationException("unexpected CBOR tag " + arg + " in CAR header");
                }
                Object inner = item(depth + 1);
                if (!(inner instanceof byte[] b) || b.length < 2 || b[0] != 0) {
                    throw new VerificationException("malformed CID (tag 42) in CAR header");
                }
                try {
                    return Cid.fromBytes(Arrays.copyOfRange(b, 1, b.length));
                } catch (InvalidCidException e) {
                    throw new VerificationException("CAR header root: " + e.getMessage(), e);
                }
            }
            default:
                throw new VerificationException("unexpected CBOR major type " + major + " in CAR header");
        }
    }

    private long argument(int info) {
        if (info < 24) {
            return info;
        }
        int n = switch (info) {
            case 24 -> 1;
            case 25 -> 2;
            case 26 -> 4;
            case 27 -> 8;
            default -> throw new VerificationException("indefinite-length or reserved CBOR item in CAR header");
        };
        long v = 0;
        for (int i = 0; i < n; i++) {
            v = (v << 8) | u8();
        }
        if (v < 0 || v > bytes.length) {
            throw new VerificationException("CBOR length out of range in CAR header");
        }
        return v;
    }

    private int u8() {
        if (pos >= bytes.length) {
            throw new VerificationException("truncated CAR header");
        }
        return bytes[pos++] & 0xFF;
    }

    private byte[] take(long n) {
        if (n > bytes.length - pos) {
            throw new VerificationException("truncated CAR header");
        }
        byte[] out = Arrays.copyOfRange(bytes, pos, pos + (int) n);
        pos += (int) n;
        return out;
    }
}
