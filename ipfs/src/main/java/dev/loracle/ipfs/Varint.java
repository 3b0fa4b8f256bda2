package dev.loracle.ipfs;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;

/** Unsigned LEB128 varints as used by multiformats (CIDs, multihash, CAR framing). */
public final class Varint {
    private Varint() {
    }

    /** Varints longer than 9 bytes are not allowed by the multiformats spec (max 2^63-1). */
    private static final int MAX_BYTES = 9;

    public static void write(long value, ByteArrayOutputStream out) {
        if (value < 0) {
            throw new IllegalArgumentException("varint must be non-negative: " + value);
        }
        while ((value & ~0x7FL) != 0) {
            out.write((int) ((value & 0x7F) | 0x80));
            value >>>= 7;
        }
        out.write((int) value);
    }

    /** Reads a varint at {@code offset[0]} of {@code bytes}, advancing {@code offset[0]}. */
    public static long read(byte[] bytes, int[] offset) {
        long value = 0;
        for (int i = 0; i < MAX_BYTES; i++) {
            if (offset[0] >= bytes.length) {
                throw new IllegalArgumentException("truncated varint");
            }
            int b = bytes[offset[0]++] & 0xFF;
            value |= (long) (b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0) {
                if (b == 0 && i > 0) {
                    throw new IllegalArgumentException("varint is not minimally encoded");
                }
                return value;
            }
        }
        throw new IllegalArgumentException("varint longer than " + MAX_BYTES + " bytes");
    }

    /** Reads a varint from a stream; returns -1 on a clean end of stream before the first byte. */
    public static long readOrEof(InputStream in) throws IOException {
        long value = 0;
        for (int i = 0; i < MAX_BYTES; i++) {
            int b = in.read();
            if (b < 0) {
                if (i == 0) {
                    return -1;
                }
                throw new EOFException("truncated varint");
            }
            value |= (long) (b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0) {
                if (b == 0 && i > 0) {
                    throw new IOException("varint is not minimally encoded");
                }
                return value;
            }
        }
        throw new IOException("varint longer than " + MAX_BYTES + " bytes");
    }
}
