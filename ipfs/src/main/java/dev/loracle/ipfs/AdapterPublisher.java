package dev.loracle.ipfs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;

/**
 * Publishes a PEFT adapter directory to an IPFS node: the directory's files are added as the entries of one UnixFS
 * directory (CIDv1, raw leaves, pinned), whose CID is what a dApp registers on chain. The same bytes always give the
 * same CID, so publishing twice is harmless.
 */
public final class AdapterPublisher {
    /** Files a PEFT LoRA adapter directory must contain. */
    public static final List<String> REQUIRED_FILES = List.of("adapter_config.json", "adapter_model.safetensors");

    private final KuboRpcClient client;

    public AdapterPublisher(KuboRpcClient client) {
        this.client = Objects.requireNonNull(client, "client");
    }

    /** Adds and pins {@code adapterDir}; returns the CIDv1 of the directory holding its files. */
    public Cid publish(Path adapterDir) {
        return add(adapterDir, false);
    }

    /** The CID {@link #publish} would return, computed by the node without storing anything ({@code only-hash}). */
    public Cid computeCid(Path adapterDir) {
        return add(adapterDir, true);
    }

    private Cid add(Path adapterDir, boolean onlyHash) {
        validate(adapterDir);
        AddOptions options = AddOptions.defaults().withWrapWithDirectory(true).withPin(!onlyHash).withOnlyHash(onlyHash);
        AddedEntry root = client.addDirectory(adapterDir, options);
        if (!root.name().isEmpty()) {
            throw new IpfsException("the node did not return the wrapping directory as the last add entry (got '"
                    + root.name() + "')");
        }
        return root.cid();
    }

    /** Checks the directory looks like a PEFT adapter and contains only regular files and directories. */
    public static void validate(Path adapterDir) {
        if (!Files.isDirectory(adapterDir)) {
            throw new IllegalArgumentException("not a directory: " + adapterDir);
        }
        List<String> missing = new ArrayList<>();
        for (String name : REQUIRED_FILES) {
            if (!Files.isRegularFile(adapterDir.resolve(name), LinkOption.NOFOLLOW_LINKS)) {
                missing.add(name);
            }
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(adapterDir + " is not a PEFT adapter directory: missing " + missing);
        }
        try (Stream<Path> walk = Files.walk(adapterDir)) {
            for (Path p : walk.toList()) {
                if (Files.isSymbolicLink(p)) {
                    throw new IllegalArgumentException("symbolic links are not published: " + p);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + adapterDir, e);
        }
    }
}
