package dev.loracle.ipfs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * The files of {@link AdapterCache}'s disk tier: one file or folder per entry, named by its CIDv1, in one directory.
 * Its modification time records recency across restarts.
 */
final class CacheDirectory {
    /** One cached entry on disk. */
    record Entry(Cid cid, Path path, boolean directory, long bytes) {
    }

    private final Path root;

    CacheDirectory(Path root) {
        this.root = root.toAbsolutePath().normalize();
        try {
            Files.createDirectories(this.root);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create cache directory " + this.root, e);
        }
    }

    Path root() {
        return root;
    }

    Path pathOf(Cid key) {
        return root.resolve(key.toString());
    }

    /** The entries on disk, least recently used first; leftovers of interrupted work are deleted. */
    List<Entry> scan() {
        List<Entry> found = new ArrayList<>();
        Map<Cid, FileTime> times = new HashMap<>();
        try (Stream<Path> list = Files.list(root)) {
            for (Path p : list.toList()) {
                String name = p.getFileName().toString();
                Cid cid;
                try {
                    cid = Cid.parse(name);
                } catch (InvalidCidException e) {
                    cid = null;
                }
                if (cid == null || !cid.toString().equals(name)) {
                    if (name.contains(".attempt-") || name.startsWith(".evicted-") || name.endsWith(".spill")) {
                        VerifiedFetcher.deleteQuietly(p);
                    }
                    continue;
                }
                found.add(new Entry(cid, p, Files.isDirectory(p), size(p)));
                times.put(cid, Files.getLastModifiedTime(p));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read cache directory " + root, e);
        }
        found.sort(Comparator.comparing(e -> times.get(e.cid())));
        return found;
    }

    /** Marks {@code entry} used now, for the order after a restart. */
    static void touch(Entry entry) {
        try {
            Files.setLastModifiedTime(entry.path(), FileTime.fromMillis(System.currentTimeMillis()));
        } catch (IOException ignored) {
            // recency on disk only orders entries after a restart; a failed touch is harmless
        }
    }

    /** Deletes {@code entry}: renamed first, so its CID path disappears atomically, then its files. */
    void delete(Entry entry) {
        Path trash = root.resolve(".evicted-" + UUID.randomUUID());
        try {
            Files.move(entry.path(), trash, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            trash = entry.path();
        }
        VerifiedFetcher.deleteQuietly(trash);
    }

    private static long size(Path p) throws IOException {
        if (!Files.isDirectory(p)) {
            return Files.size(p);
        }
        try (Stream<Path> walk = Files.walk(p)) {
            long total = 0;
            for (Path f : walk.filter(Files::isRegularFile).toList()) {
                total += Files.size(f);
            }
            return total;
        }
    }
}
