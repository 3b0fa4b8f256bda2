package dev.loracle.ipfs.unixfs;

import dev.loracle.ipfs.Cid;
import dev.loracle.ipfs.MissingBlockException;
import dev.loracle.ipfs.car.CarBlock;
import dev.loracle.ipfs.car.CarReader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;

/**
 * Pull-based access to the blocks of a CAR stream. {@link #take(Cid)} reads forward until the wanted block appears;
 * blocks passed on the way (out of traversal order) are stashed, in memory up to a budget and then in a spill file,
 * so an in-order CAR (what Kubo and js-ipfs export: depth-first, root first) streams without buffering at all.
 */
final class BlockStash implements AutoCloseable {
    /** Out-of-order blocks held in memory before spilling to disk. */
    static final long DEFAULT_MEMORY_BUDGET = 8L << 20;

    private final CarReader car;
    private final Cid root;
    private final Path spillPath;
    private final long memoryBudget;
    private final Map<Cid, byte[]> memory = new HashMap<>();
    private final Map<Cid, long[]> spilled = new HashMap<>();
    private long memoryBytes;
    private FileChannel spill;
    private long spillEnd;

    BlockStash(CarReader car, Cid root, Path spillPath, long memoryBudget) {
        this.car = car;
        this.root = root;
        this.spillPath = spillPath;
        this.memoryBudget = memoryBudget;
    }

    boolean spilled() {
        return spill != null;
    }

    /** The verified bytes of {@code cid}; throws {@link MissingBlockException} if the CAR ends without it. */
    byte[] take(Cid cid) throws IOException {
        Cid key = cid.toV1();
        byte[] held = memory.remove(key);
        if (held != null) {
            memoryBytes -= held.length;
            return held;
        }
        long[] at = spilled.remove(key);
        if (at != null) {
            ByteBuffer buf = ByteBuffer.allocate((int) at[1]);
            while (buf.hasRemaining()) {
                if (spill.read(buf, at[0] + buf.position()) < 0) {
                    throw new IOException("spill file truncated");
                }
            }
            return buf.array();
        }
        CarBlock block;
        while ((block = car.next()) != null) {
            Cid blockKey = block.cid().toV1();
            if (blockKey.equals(key)) {
                return block.data();
            }
            stash(blockKey, block.data());
        }
        throw new MissingBlockException(root, cid, "the CAR ended after " + car.blocksRead() + " blocks ("
                + car.bytesRead() + " bytes) without it; the node did not have it within its timeout, or the CAR is incomplete");
    }

    private void stash(Cid key, byte[] data) throws IOException {
        if (memory.containsKey(key) || spilled.containsKey(key)) {
            return;
        }
        if (memoryBytes + data.length <= memoryBudget) {
            memory.put(key, data);
            memoryBytes += data.length;
            return;
        }
        if (spill == null) {
            spill = FileChannel.open(spillPath, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                    StandardOpenOption.WRITE, StandardOpenOption.DELETE_ON_CLOSE);
        }
        ByteBuffer buf = ByteBuffer.wrap(data);
        long offset = spillEnd;
        while (buf.hasRemaining()) {
            spill.write(buf, offset + buf.position());
        }
        spillEnd += data.length;
        spilled.put(key, new long[]{offset, data.length});
    }

    /** Reads (and so verifies) any blocks left in the CAR, discarding them. */
    void drain() throws IOException {
        while (car.next() != null) {
            // each block is hash-checked by the reader; extra blocks are harmless once verified
        }
    }

    @Override
    public void close() throws IOException {
        if (spill != null) {
            spill.close();
        }
        Files.deleteIfExists(spillPath);
    }
}
