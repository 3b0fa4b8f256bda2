package dev.loracle.ipfs.unixfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.ipfs.Cid;
import dev.loracle.ipfs.ContentTooLargeException;
import dev.loracle.ipfs.FetchLimits;
import dev.loracle.ipfs.MissingBlockException;
import dev.loracle.ipfs.VerificationException;
import dev.loracle.ipfs.car.CarReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Block orders and shapes a node never sends but an attacker or another implementation might: the CAR is built
 * here, every block still hashes correctly, and the assembler must get the same bytes or a clear error.
 */
class UnixFsAssemblerTest {
    @TempDir
    Path tmp;

    /** 40 chunks of 4 KiB under two intermediate nodes; returns the expected file bytes. */
    private static byte[] twoLevelFile(SyntheticCar g, Cid[] rootOut) {
        byte[] all = new byte[40 * 4096 + 100];
        new Random(4).nextBytes(all);
        List<Cid> mids = new ArrayList<>();
        List<Long> midSizes = new ArrayList<>();
        for (int m = 0; m < 2; m++) {
            List<Cid> leaves = new ArrayList<>();
            List<Long> sizes = new ArrayList<>();
            int from = m * 20 * 4096;
            int to = m == 0 ? 20 * 4096 : all.length;
            for (int off = from; off < to; off += 4096) {
                byte[] chunk = SyntheticCar.chunk(all, off, Math.min(to, off + 4096));
                leaves.add(g.raw(chunk));
                sizes.add((long) chunk.length);
            }
            mids.add(g.file(leaves, sizes));
            midSizes.add((long) (to - from));
        }
        rootOut[0] = g.file(mids, midSizes);
        return all;
    }

    private UnixFsAssembler.Result assemble(byte[] car, Cid root, Path target, FetchLimits limits, long stash)
            throws IOException {
        try (CarReader r = new CarReader(new ByteArrayInputStream(car), limits.maxCarBytes(), limits.maxBlockBytes())) {
            return UnixFsAssembler.assemble(r, root, target, limits, false, stash);
        }
    }

    @Test
    void depthFirstOrderStreamsWithoutStashing() throws IOException {
        SyntheticCar g = new SyntheticCar();
        Cid[] root = new Cid[1];
        byte[] expected = twoLevelFile(g, root);
        // Depth-first pre-order = root, mid 0, its leaves, mid 1, its leaves: generated order reversed per level.
        List<SyntheticCar.Block> dfs = new ArrayList<>();
        dfs.add(g.blocks.getLast());
        dfs.add(g.blocks.get(20));
        dfs.addAll(g.blocks.subList(0, 20));
        dfs.add(g.blocks.get(42));
        dfs.addAll(g.blocks.subList(21, 42));
        UnixFsAssembler.Result r = assemble(SyntheticCar.car(root[0], dfs), root[0], tmp.resolve("f"), FetchLimits.defaults(), 0);
        assertArrayEquals(expected, Files.readAllBytes(tmp.resolve("f")));
        assertFalse(r.spilled(), "in-order blocks never wait in the stash, even with a zero memory budget");
    }

    @Test
    void reversedOrderIsReassembledThroughTheSpillFile() throws IOException {
        SyntheticCar g = new SyntheticCar();
        Cid[] root = new Cid[1];
        byte[] expected = twoLevelFile(g, root);
        byte[] car = SyntheticCar.car(root[0], SyntheticCar.reversed(g.blocks)); // leaves first, root last
        UnixFsAssembler.Result r = assemble(car, root[0], tmp.resolve("f"), FetchLimits.defaults(), 16 * 1024);
        assertArrayEquals(expected, Files.readAllBytes(tmp.resolve("f")));
        assertTrue(r.spilled());
        assertEquals(List.of("f"), dev.loracle.ipfs.TestFiles.list(tmp), "the spill file is removed");
    }

    @Test
    void repeatedChunksAndDuplicateBlocks() throws IOException {
        SyntheticCar g = new SyntheticCar();
        byte[] a = "chunk-a".getBytes();
        byte[] b = "chunk-b".getBytes();
        Cid ca = g.raw(a);
        Cid cb = g.raw(b);
        Cid root = g.file(List.of(ca, cb, ca, ca), List.of(7L, 7L, 7L, 7L));
        List<SyntheticCar.Block> order = new ArrayList<>(List.of(g.blocks.get(2), g.blocks.get(0), g.blocks.get(1), g.blocks.get(0)));
        assemble(SyntheticCar.car(root, order), root, tmp.resolve("f"), FetchLimits.defaults(), 1 << 20);
        assertEquals("chunk-achunk-bchunk-achunk-a", Files.readString(tmp.resolve("f")));
        // The same file twice in one directory: second copy from the first.
        SyntheticCar d = new SyntheticCar();
        Cid leaf = d.raw("same".getBytes());
        Cid dir = d.directory(List.of("one", "two"), List.of(leaf, leaf));
        assemble(SyntheticCar.car(dir, List.of(d.blocks.get(1), d.blocks.get(0))), dir, tmp.resolve("d"),
                FetchLimits.defaults(), 1 << 20);
        assertEquals("same", Files.readString(tmp.resolve("d/one")));
        assertEquals("same", Files.readString(tmp.resolve("d/two")));
    }

    @Test
    void missingBlockIsNamed() {
        SyntheticCar g = new SyntheticCar();
        Cid[] root = new Cid[1];
        twoLevelFile(g, root);
        List<SyntheticCar.Block> withoutOne = new ArrayList<>(SyntheticCar.reversed(g.blocks));
        SyntheticCar.Block dropped = withoutOne.remove(7);
        MissingBlockException e = assertThrows(MissingBlockException.class, () -> assemble(
                SyntheticCar.car(root[0], withoutOne), root[0], tmp.resolve("m"), FetchLimits.defaults(), 1 << 20));
        assertEquals(dropped.cid(), e.missingBlock());
        assertTrue(e.getMessage().contains(dropped.cid().toString()), e.getMessage());
    }

    @Test
    void depthAndSizeLimits() {
        SyntheticCar g = new SyntheticCar();
        Cid[] root = new Cid[1];
        twoLevelFile(g, root);
        byte[] car = SyntheticCar.car(root[0], SyntheticCar.reversed(g.blocks));
        VerificationException deep = assertThrows(VerificationException.class, () -> assemble(car, root[0],
                tmp.resolve("d"), new FetchLimits(1 << 30, 1 << 20, 1, 100), 1 << 20));
        assertTrue(deep.getMessage().contains("deeper than 1"), deep.getMessage());
        assertThrows(ContentTooLargeException.class, () -> assemble(car, root[0], tmp.resolve("s"),
                new FetchLimits(100_000, 1 << 20, 8, 100), 1 << 20));
        VerificationException bigBlock = assertThrows(VerificationException.class, () -> assemble(car, root[0],
                tmp.resolve("b"), new FetchLimits(1 << 30, 1024, 8, 100), 1 << 20));
        assertTrue(bigBlock.getMessage().contains("block limit"), bigBlock.getMessage());
    }

    @Test
    void aBlockFramedWithAnotherBlocksCidIsRejected() {
        SyntheticCar g = new SyntheticCar();
        Cid leaf = g.raw("real".getBytes());
        Cid root = g.file(List.of(leaf), List.of(4L));
        List<SyntheticCar.Block> forged = List.of(g.blocks.get(1), new SyntheticCar.Block(leaf, "fake".getBytes()));
        VerificationException e = assertThrows(VerificationException.class, () -> assemble(
                SyntheticCar.car(root, forged), root, tmp.resolve("x"), FetchLimits.defaults(), 1 << 20));
        assertTrue(e.getMessage().contains("does not hash to its CID"), e.getMessage());
    }
}
