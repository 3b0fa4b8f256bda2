package dev.loracle.ipfs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Verified content of a CID on local disk, as returned by {@link AdapterCache#get(Cid)}.
 *
 * <p>{@link #path()} is a directory for a directory CID (a PEFT adapter: {@code adapter_config.json} and
 * {@code adapter_model.safetensors} inside) or a file for a file CID. {@link #read(String)} serves a file's bytes
 * from the in-memory tier when the adapter is hot, else from disk.
 */
public final class FetchedContent {
    /** Where this result came from. */
    public enum Source { MEMORY, DISK, NETWORK }

    private final Cid cid;
    private final Path path;
    private final boolean directory;
    private final long bytes;
    private final Source source;
    private final Map<String, byte[]> memoryFiles;

    FetchedContent(Cid cid, Path path, boolean directory, long bytes, Source source, Map<String, byte[]> memoryFiles) {
        this.cid = cid;
        this.path = path;
        this.directory = directory;
        this.bytes = bytes;
        this.source = source;
        this.memoryFiles = memoryFiles;
    }

    public Cid cid() {
        return cid;
    }

    public Path path() {
        return path;
    }

    public boolean directory() {
        return directory;
    }

    /** Total bytes of file content. */
    public long bytes() {
        return bytes;
    }

    /** True when no network fetch was needed for this call (memory or disk tier). */
    public boolean fromCache() {
        return source != Source.NETWORK;
    }

    public Source source() {
        return source;
    }

    /**
     * The bytes of a file of this content, read-only: {@code relativePath} inside a directory CID (e.g.
     * {@code "adapter_model.safetensors"}), or {@code ""} for a file CID.
     */
    public ByteBuffer read(String relativePath) {
        byte[] held = memoryFiles == null ? null : memoryFiles.get(relativePath);
        if (held != null) {
            return ByteBuffer.wrap(held).asReadOnlyBuffer();
        }
        Path file = relativePath.isEmpty() ? path : path.resolve(relativePath).normalize();
        if (!file.startsWith(path)) {
            throw new IllegalArgumentException("path escapes the content directory: " + relativePath);
        }
        try {
            return ByteBuffer.wrap(Files.readAllBytes(file)).asReadOnlyBuffer();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + " of " + cid, e);
        }
    }

    FetchedContent withSource(Source newSource) {
        return new FetchedContent(cid, path, directory, bytes, newSource, memoryFiles);
    }

    @Override
    public String toString() {
        return "FetchedContent[" + cid + " -> " + path + ", " + bytes + " bytes, " + source + "]";
    }
}
