package dev.loracle.ipfs.car;

import dev.loracle.ipfs.Cid;
import dev.loracle.ipfs.ContentTooLargeException;
import dev.loracle.ipfs.InvalidCidException;
import dev.loracle.ipfs.VerificationException;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;

/**
 * Streaming CARv1 reader that verifies as it reads: every block must hash (sha2-256) to the CID it is framed
 * with, or {@link #next()} throws {@link VerificationException}. Blocks are read one at a time, so memory is bounded
 * by the block size limit, not the CAR size.
 */
public final class CarReader implements AutoCloseable {
    private final InputStream in;
    private final long maxCarBytes;
    private final int maxBlockBytes;
    private final List<Cid> roots;
    private final MessageDigest sha256;
    private long bytesRead;
    private long blocksRead;

    /**
     * @param maxCarBytes   the stream is rejected with {@link ContentTooLargeException} beyond this many bytes
     * @param maxBlockBytes a single block larger than this is rejected (Kubo's own limit is 2 MiB; chunks are 256 KiB)
     */
    public CarReader(InputStream in, long maxCarBytes, int maxBlockBytes) throws IOException {
        this.in = in;
        this.maxCarBytes = maxCarBytes;
        this.maxBlockBytes = maxBlockBytes;
        try {
            this.sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        long headerLength = varint();
        if (headerLength < 0) {
            throw new VerificationException("empty CAR stream: no header (the node sent nothing)");
        }
        if (headerLength == 0 || headerLength > 64 * 1024) {
            throw new VerificationException("CAR header length " + headerLength + " out of range");
        }
        this.roots = CarHeaderDecoder.decode(readFully((int) headerLength)).roots();
    }

    public List<Cid> roots() {
        return roots;
    }

    public long bytesRead() {
        return bytesRead;
    }

    public long blocksRead() {
        return blocksRead;
    }

    /** The next verified block, or {@code null} at a clean end of the CAR. */
    public CarBlock next() throws IOException {
        long sectionLength = varint();
        if (sectionLength < 0) {
            return null;
        }
        if (sectionLength == 0) {
            throw new VerificationException("zero-length CAR section after block " + blocksRead);
        }
        long sectionStart = bytesRead;
        Cid cid = readCid();
        long dataLength = sectionLength - (bytesRead - sectionStart);
        if (dataLength < 0) {
            throw new VerificationException("CAR section of " + sectionLength + " bytes is shorter than its CID " + cid);
        }
        if (dataLength > maxBlockBytes) {
            throw new VerificationException("block " + cid + " is " + dataLength + " bytes, over the "
                    + maxBlockBytes + "-byte block limit");
        }
        byte[] data = readFully((int) dataLength);
        if (!cid.matchesDigest(sha256.digest(data))) {
            throw new VerificationException("block " + cid + " (#" + blocksRead + " in the CAR, " + data.length
                    + " bytes) does not hash to its CID: tampered or corrupt data");
        }
        blocksRead++;
        return new CarBlock(cid, data);
    }

    /** Reads a binary CID from the stream: 34 bytes for v0, else varint-framed fields. */
    private Cid readCid() throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream(40);
        int first = u8();
        if (first == Cid.SHA2_256) {
            buf.write(first);
            buf.writeBytes(readFully(33));
        } else {
            long version = varintFrom(first, buf);
            long codec = varintFrom(u8(), buf);
            long hash = varintFrom(u8(), buf);
            long length = varintFrom(u8(), buf);
            if (version != 1 || length > 64) {
                throw new VerificationException("malformed CID in CAR section (version " + version + ", codec 0x"
                        + Long.toHexString(codec) + ", hash 0x" + Long.toHexString(hash) + ", digest length " + length + ")");
            }
            buf.writeBytes(readFully((int) length));
        }
        try {
            return Cid.fromBytes(buf.toByteArray());
        } catch (InvalidCidException e) {
            throw new VerificationException("CAR block #" + blocksRead + " has an unacceptable CID: " + e.getMessage(), e);
        }
    }

    private long varintFrom(int firstByte, ByteArrayOutputStream copy) throws IOException {
        long value = 0;
        int b = firstByte;
        for (int i = 0; i < 9; i++) {
            copy.write(b);
            value |= (long) (b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0) {
                return value;
            }
            b = u8();
        }
        throw new VerificationException("varint too long in CAR section");
    }

    /** A varint from the stream, -1 on clean EOF before its first byte. */
    private long varint() throws IOException {
        int b = in.read();
        if (b < 0) {
            return -1;
        }
        count(1);
        long value = 0;
        for (int i = 0; i < 9; i++) {
            value |= (long) (b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0) {
                return value;
            }
            b = u8();
        }
        throw new VerificationException("varint too long in CAR stream");
    }

    private int u8() throws IOException {
        int b = in.read();
        if (b < 0) {
            throw new EOFException("CAR stream truncated after " + bytesRead + " bytes");
        }
        count(1);
        return b;
    }

    private byte[] readFully(int n) throws IOException {
        count(n);
        // One allocation, read straight into it (InputStream.readNBytes(int) would gather 16 KiB pieces and copy).
        byte[] out = new byte[n];
        int got = in.readNBytes(out, 0, n);
        if (got != n) {
            throw new EOFException("CAR stream truncated after " + (bytesRead - n + got) + " bytes");
        }
        return out;
    }

    private void count(long n) {
        bytesRead += n;
        if (bytesRead > maxCarBytes) {
            throw new ContentTooLargeException("CAR stream (" + bytesRead + "+ bytes)", maxCarBytes);
        }
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
