package dev.loracle.ipfs.unixfs;

import dev.loracle.ipfs.Cid;
import dev.loracle.ipfs.ContentTooLargeException;
import dev.loracle.ipfs.FetchLimits;
import dev.loracle.ipfs.UnsupportedContentException;
import dev.loracle.ipfs.VerificationException;
import dev.loracle.ipfs.car.CarReader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Rebuilds a UnixFS file or (non-sharded) directory from a verified CAR stream, writing it under a target path.
 *
 * <p>Every block comes from {@link CarReader}, which already checked its hash, and the traversal starts at the
 * requested CID, so the result is exactly the content the CID names. On top of that the assembler checks the
 * structure: node types, the sizes each parent declares for its children, cycles, depth, entry names and limits.
 * Blocks the DAG uses more than once (deduplicated chunks) are copied from where they were first written.
 */
public final class UnixFsAssembler {
    /** What was written: {@code path} is a file or a directory; {@code bytes} counts file content. */
    public record Result(Path path, boolean directory, long bytes, int files, long blocks, long carBytes,
                         boolean spilled) {
    }

    private record Range(Path file, long offset, int length) {
    }

    private final BlockStash blocks;
    private final CarReader car;
    private final Cid root;
    private final FetchLimits limits;
    private final boolean syncFiles;
    private final Map<Cid, DagPbNode> nodes = new HashMap<>();
    private final Map<Cid, Range> leaves = new HashMap<>();
    private final Set<Cid> ancestors = new HashSet<>();
    private long contentBytes;
    private int entries;
    private int files;

    private UnixFsAssembler(CarReader car, Cid root, FetchLimits limits, boolean syncFiles, Path spillPath,
                            long stashMemoryBytes) {
        this.car = car;
        this.root = root;
        this.limits = limits;
        this.syncFiles = syncFiles;
        this.blocks = new BlockStash(car, root, spillPath, stashMemoryBytes);
    }

    /**
     * Reads the CAR, checks its root is {@code root}, and writes the content at {@code target} (which must not exist;
     * its parent must). On any failure, whatever was written under {@code target} is left for the caller to delete
     * (callers write into a temporary directory and move it into place only on success).
     */
    public static Result assemble(CarReader car, Cid root, Path target, FetchLimits limits) throws IOException {
        return assemble(car, root, target, limits, false);
    }

    /**
     * As {@link #assemble(CarReader, Cid, Path, FetchLimits)}; with {@code syncFiles} each file is forced to the
     * storage device before it is closed, so content renamed into a cache survives a power loss intact.
     */
    public static Result assemble(CarReader car, Cid root, Path target, FetchLimits limits, boolean syncFiles)
            throws IOException {
        return assemble(car, root, target, limits, syncFiles, BlockStash.DEFAULT_MEMORY_BUDGET);
    }

    /** With an explicit budget for out-of-order blocks held in memory (beyond it they spill to a file). */
    static Result assemble(CarReader car, Cid root, Path target, FetchLimits limits, boolean syncFiles,
                           long stashMemoryBytes) throws IOException {
        if (Files.exists(target)) {
            throw new IllegalArgumentException("target already exists: " + target);
        }
        List<Cid> roots = car.roots();
        if (roots.size() != 1 || !roots.getFirst().toV1().equals(root.toV1())) {
            throw new VerificationException("CAR roots " + roots + " do not match the requested CID " + root);
        }
        Path spill = target.resolveSibling(target.getFileName() + ".spill");
        UnixFsAssembler assembler = new UnixFsAssembler(car, root, limits, syncFiles, spill, stashMemoryBytes);
        try (BlockStash ignored = assembler.blocks) {
            Result result = assembler.run(target);
            assembler.blocks.drain();
            return new Result(result.path(), result.directory(), result.bytes(), result.files(),
                    car.blocksRead(), car.bytesRead(), assembler.blocks.spilled());
        }
    }

    private Result run(Path target) throws IOException {
        if (root.codec() == Cid.Codec.RAW) {
            writeFile(root, null, target, 0);
            return new Result(target, false, contentBytes, files, 0, 0, false);
        }
        DagPbNode node = node(root);
        switch (node.type()) {
            case DIRECTORY -> {
                writeDirectory(root, node, target, 0);
                return new Result(target, true, contentBytes, files, 0, 0, false);
            }
            case FILE, RAW -> {
                if (node.unixFs().hasFilesize() && node.unixFs().getFilesize() > limits.maxContentBytes()) {
                    throw new ContentTooLargeException("file " + root + " (" + node.unixFs().getFilesize() + " bytes)",
                            limits.maxContentBytes());
                }
                writeFile(root, node, target, 0);
                return new Result(target, false, contentBytes, files, 0, 0, false);
            }
            case HAMT_SHARD -> throw unsupportedHamt(root);
            default -> throw new VerificationException("root " + root + " is a UnixFS " + node.type()
                    + " node; only files and directories can be fetched");
        }
    }

    private void writeDirectory(Cid cid, DagPbNode dir, Path path, int depth) throws IOException {
        checkDepth(cid, depth);
        enter(cid);
        countEntry(path);
        Files.createDirectory(path);
        Set<String> names = new HashSet<>();
        for (DagPbNode.Link link : dir.links()) {
            String name = link.name();
            checkName(cid, name);
            if (!names.add(name)) {
                throw new VerificationException("directory " + cid + " lists '" + name + "' twice");
            }
            Path child = path.resolve(name);
            if (link.cid().codec() == Cid.Codec.RAW || leaves.containsKey(link.cid().toV1())) {
                // a raw leaf, or a single-block file already written elsewhere in this tree
                writeFile(link.cid(), null, child, depth + 1);
                continue;
            }
            DagPbNode node = node(link.cid());
            switch (node.type()) {
                case DIRECTORY -> writeDirectory(link.cid(), node, child, depth + 1);
                case FILE, RAW -> writeFile(link.cid(), node, child, depth + 1);
                case HAMT_SHARD -> throw unsupportedHamt(link.cid());
                default -> throw new VerificationException("directory entry '" + name + "' (" + link.cid()
                        + ") is a UnixFS " + node.type() + " node; only files and directories are accepted");
            }
        }
        leave(cid);
    }

    /** Writes the file under {@code cid}; {@code decoded} is its node when the caller already decoded it. */
    private void writeFile(Cid cid, DagPbNode decoded, Path path, int depth) throws IOException {
        countEntry(path);
        files++;
        try (FileChannel out = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                StandardOpenOption.READ)) {
            writeFileNode(cid, decoded, path, out, -1, depth);
            if (syncFiles) {
                out.force(true);
            }
        }
    }

    /** Appends the content under {@code cid} to {@code out}; returns its length, checked against {@code expected}. */
    private long writeFileNode(Cid cid, DagPbNode decoded, Path file, FileChannel out, long expected, int depth)
            throws IOException {
        checkDepth(cid, depth);
        Cid key = cid.toV1();
        Range seen = leaves.get(key);
        if (seen != null) {
            checkSize(cid, expected, seen.length());
            byte[] copy = new byte[seen.length()];
            try (FileChannel in = seen.file().equals(file) ? null : FileChannel.open(seen.file(), StandardOpenOption.READ)) {
                readAt(in == null ? out : in, ByteBuffer.wrap(copy), seen.offset());
            }
            append(out, file, key, copy, false);
            return copy.length;
        }
        if (cid.codec() == Cid.Codec.RAW) {
            byte[] data = blocks.take(cid);
            checkSize(cid, expected, data.length);
            append(out, file, key, data, true);
            return data.length;
        }
        DagPbNode node = decoded != null ? decoded : node(cid);
        if (node.type() != DagPbNode.Type.FILE && node.type() != DagPbNode.Type.RAW) {
            throw new VerificationException("expected a file chunk at " + cid + " but found a UnixFS " + node.type() + " node");
        }
        List<Long> sizes = node.unixFs().getBlocksizesList();
        if (sizes.size() != node.links().size()) {
            throw new VerificationException("file node " + cid + " has " + node.links().size() + " links but "
                    + sizes.size() + " block sizes");
        }
        byte[] data = node.fileData();
        long total = data.length;
        for (long s : sizes) {
            total += s;
        }
        if (node.unixFs().hasFilesize() && node.unixFs().getFilesize() != total) {
            throw new VerificationException("file node " + cid + " declares filesize " + node.unixFs().getFilesize()
                    + " but its data and block sizes add up to " + total);
        }
        checkSize(cid, expected, total);
        if (node.links().isEmpty()) {
            append(out, file, key, data, true);
            return data.length;
        }
        enter(cid);
        append(out, file, null, data, false);
        for (int i = 0; i < node.links().size(); i++) {
            writeFileNode(node.links().get(i).cid(), null, file, out, sizes.get(i), depth + 1);
        }
        leave(cid);
        return total;
    }

    private void append(FileChannel out, Path file, Cid leafKey, byte[] data, boolean remember) throws IOException {
        if (data.length == 0) {
            return;
        }
        contentBytes += data.length;
        if (contentBytes > limits.maxContentBytes()) {
            throw new ContentTooLargeException("content of " + root + " (" + contentBytes + "+ bytes)", limits.maxContentBytes());
        }
        long offset = out.position();
        ByteBuffer buf = ByteBuffer.wrap(data);
        while (buf.hasRemaining()) {
            out.write(buf);
        }
        if (remember && leafKey != null) {
            leaves.put(leafKey, new Range(file, offset, data.length));
        }
    }

    private static void readAt(FileChannel in, ByteBuffer buf, long offset) throws IOException {
        while (buf.hasRemaining()) {
            if (in.read(buf, offset + buf.position()) < 0) {
                throw new IOException("short read copying a repeated chunk");
            }
        }
        buf.flip();
    }

    /**
     * A dag-pb node, decoded once. Nodes with links, directories and empty leaves stay cached because a DAG may
     * reference them again; leaves with data are not (their bytes are re-read from where they were written).
     */
    private DagPbNode node(Cid cid) throws IOException {
        Cid key = cid.toV1();
        DagPbNode cached = nodes.get(key);
        if (cached != null) {
            return cached;
        }
        if (cid.codec() != Cid.Codec.DAG_PB) {
            throw new VerificationException("expected a dag-pb node at " + cid + " but it is " + cid.codec());
        }
        DagPbNode node = DagPbNode.decode(cid, blocks.take(cid));
        if (!node.links().isEmpty() || node.type() == DagPbNode.Type.DIRECTORY || node.unixFs().getData().isEmpty()) {
            nodes.put(key, node);
        }
        return node;
    }

    private void enter(Cid cid) {
        if (!ancestors.add(cid.toV1())) {
            throw new VerificationException("cycle: " + cid + " links back to itself through its descendants");
        }
    }

    private void leave(Cid cid) {
        ancestors.remove(cid.toV1());
    }

    private void checkDepth(Cid cid, int depth) {
        if (depth > limits.maxDepth()) {
            throw new VerificationException("DAG under " + root + " is deeper than " + limits.maxDepth() + " levels at " + cid);
        }
    }

    private static void checkSize(Cid cid, long expected, long actual) {
        if (expected >= 0 && expected != actual) {
            throw new VerificationException("block " + cid + " holds " + actual + " bytes of file data but its parent declares "
                    + expected);
        }
    }

    private void countEntry(Path path) {
        if (++entries > limits.maxEntries()) {
            throw new ContentTooLargeException("tree under " + root + " (more than " + limits.maxEntries() + " entries)",
                    limits.maxEntries());
        }
    }

    /** Rejects entry names that could escape the target directory or are not portable file names. */
    public static void checkName(Cid dir, String name) {
        if (name.isEmpty() || name.equals(".") || name.equals("..") || name.indexOf('/') >= 0
                || name.indexOf('\\') >= 0 || name.indexOf('\0') >= 0 || name.length() > 255) {
            throw new VerificationException("directory " + dir + " has an unsafe entry name '" + name
                    + "' (empty, '.', '..', a path separator, NUL or over 255 characters)");
        }
    }

    private static UnsupportedContentException unsupportedHamt(Cid cid) {
        return new UnsupportedContentException("directory " + cid + " is HAMT-sharded; sharded directories are not "
                + "supported (adapters are small directories: add them without sharding)");
    }
}
