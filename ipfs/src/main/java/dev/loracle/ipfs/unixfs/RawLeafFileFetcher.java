package dev.loracle.ipfs.unixfs;

import dev.loracle.ipfs.Cid;
import dev.loracle.ipfs.ContentNotFoundException;
import dev.loracle.ipfs.ContentTooLargeException;
import dev.loracle.ipfs.IpfsException;
import dev.loracle.ipfs.IpfsRpcException;
import dev.loracle.ipfs.IpfsTransportException;
import dev.loracle.ipfs.KuboRpcClient;
import dev.loracle.ipfs.VerificationException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Reads a {@link RawLeafFile} (one raw block, or a dag-pb File root over raw leaves) into memory with {@code block/get},
 * hashing every block against its CID, before a deadline and under a size bound. Nodes are tried in order; one that
 * lacks the content, is unreachable or serves bad bytes makes the next one be tried. Anything else (a deeper tree,
 * dag-pb leaves, inline data, sizes that do not add up) is refused: only this exact layout is accepted.
 */
public final class RawLeafFileFetcher {
    /** No block of this layout is larger (Kubo does not exchange larger blocks); a node never gets to send more. */
    static final int MAX_BLOCK_BYTES = 1 << 20;
    private final List<KuboRpcClient> nodes;

    public RawLeafFileFetcher(List<KuboRpcClient> nodes) {
        if (nodes.isEmpty()) throw new IllegalArgumentException("at least one IPFS node is needed");
        this.nodes = List.copyOf(nodes);
    }

    /** The file's bytes; throws ContentNotFoundException, VerificationException, ContentTooLargeException or IpfsTransportException. */
    public byte[] fetch(Cid cid, long maxBytes, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        IpfsException first = null;
        for (KuboRpcClient node : nodes) {
            try {
                return fetchFrom(node, cid, maxBytes, deadline);
            } catch (ContentTooLargeException e) {
                throw e;   // the root said so: no node will serve a smaller file under this CID
            } catch (IpfsException e) {
                if (first == null) first = e;
                if (System.nanoTime() >= deadline) break;
            }
        }
        throw first;
    }

    private static byte[] fetchFrom(KuboRpcClient node, Cid cid, long maxBytes, long deadline) {
        byte[] root = block(node, cid, deadline, (int) Math.min(maxBytes, MAX_BLOCK_BYTES));
        if (cid.codec() == Cid.Codec.RAW) {
            if (root.length > maxBytes) throw new ContentTooLargeException("snapshot " + cid, maxBytes);
            return root;
        }
        DagPbNode file = DagPbNode.decode(cid, root);
        if (file.type() != DagPbNode.Type.FILE || file.fileData().length > 0) {
            throw new VerificationException(cid + " is not a UnixFS file of raw leaves (" + file.type() + ")");
        }
        long size = file.unixFs().getFilesize();
        if (size > maxBytes) throw new ContentTooLargeException("snapshot " + cid + " of " + size + " bytes", maxBytes);
        List<DagPbNode.Link> links = file.links();
        if (links.isEmpty() || links.size() > RawLeafFile.MAX_LEAVES || file.unixFs().getBlocksizesCount() != links.size()) {
            throw new VerificationException(cid + " has " + links.size() + " links and " + file.unixFs().getBlocksizesCount() + " block sizes");
        }
        long sum = 0;
        for (int i = 0; i < links.size(); i++) {
            if (links.get(i).cid().codec() != Cid.Codec.RAW) throw new VerificationException(cid + " links to a non-raw block");
            sum += file.unixFs().getBlocksizes(i);
        }
        for (int i = 0; i < links.size(); i++) {
            if (file.unixFs().getBlocksizes(i) > MAX_BLOCK_BYTES) throw new VerificationException(cid + " declares a leaf over " + MAX_BLOCK_BYTES + " bytes");
        }
        if (sum != size) throw new VerificationException(cid + " declares " + size + " bytes but its blocks hold " + sum);
        byte[] out = new byte[(int) size];
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<byte[]>> leaves = new ArrayList<>();
            for (int i = 0; i < links.size(); i++) {
                DagPbNode.Link link = links.get(i);
                int expected = (int) file.unixFs().getBlocksizes(i);
                leaves.add(pool.submit(() -> leaf(node, link.cid(), deadline, expected)));
            }
            int at = 0;
            for (int i = 0; i < links.size(); i++) {
                byte[] leaf = join(leaves.get(i));
                if (leaf.length != file.unixFs().getBlocksizes(i)) {
                    throw new VerificationException("leaf " + i + " of " + cid + " has " + leaf.length + " bytes, the root says " + file.unixFs().getBlocksizes(i));
                }
                System.arraycopy(leaf, 0, out, at, leaf.length);
                at += leaf.length;
            }
        }
        return out;
    }

    /** A leaf of the size its root declares; a node sending more serves bad data (the next node is tried). */
    private static byte[] leaf(KuboRpcClient node, Cid cid, long deadline, int size) {
        try {
            return block(node, cid, deadline, size);
        } catch (ContentTooLargeException e) {
            throw new VerificationException(node.apiUrl() + " sent more than the " + size + " bytes of leaf " + cid);
        }
    }

    private static byte[] block(KuboRpcClient node, Cid cid, long deadline, int maxBytes) {
        long left = deadline - System.nanoTime();
        if (left <= 0) throw new ContentNotFoundException(cid, "the fetch deadline passed");
        Duration timeout = Duration.ofNanos(left);
        byte[] bytes;
        try {
            bytes = node.blockGet(cid, timeout, maxBytes);
        } catch (IpfsRpcException e) {
            String m = e.nodeMessage().toLowerCase(Locale.ROOT);
            if (m.contains("timed out") || m.contains("deadline exceeded") || m.contains("not found") || m.contains("could not find")) {
                throw new ContentNotFoundException(cid, timeout, node.apiUrl() + " answered: " + e.nodeMessage());
            }
            throw e;
        } catch (IpfsTransportException e) {
            if (System.nanoTime() >= deadline) throw new ContentNotFoundException(cid, timeout, e.getMessage());
            throw e;
        }
        if (!cid.matches(bytes)) throw new VerificationException("block " + cid + " from " + node.apiUrl() + " does not hash to its CID");
        return bytes;
    }

    private static byte[] join(Future<byte[]> f) {
        try {
            return f.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw new IpfsTransportException("fetching a block failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IpfsTransportException("interrupted", e);
        }
    }
}
