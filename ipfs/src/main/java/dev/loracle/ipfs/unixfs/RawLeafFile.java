package dev.loracle.ipfs.unixfs;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import dev.loracle.ipfs.Cid;
import dev.loracle.ipfs.unixfs.proto.DagPbProto;
import dev.loracle.ipfs.unixfs.proto.UnixFsProto;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A UnixFS file built locally, as the importer of {@code ipfs add --cid-version 1 --raw-leaves --chunker size-N} lays
 * out a file of at most {@link #MAX_LEAVES} chunks: raw leaves of {@code chunkBytes}, and (for more than one chunk) a
 * single dag-pb root that links them (canonical dag-pb: links before data; UnixFS File with filesize and blocksizes).
 * A one-chunk file is its raw leaf. So the CID is known before any node has seen the bytes, and storing the blocks
 * with {@code block/put} makes the content readable by {@code cat}, {@code dag/export} and the verified fetcher.
 */
public record RawLeafFile(Cid cid, List<Block> blocks) {
    /** The importer's widest node; a larger file would need a deeper tree, which this class does not build. */
    public static final int MAX_LEAVES = 174;

    /** One block and its CID. */
    public record Block(Cid cid, byte[] bytes) {
    }

    public RawLeafFile {
        blocks = List.copyOf(blocks);
    }

    /** Chunks {@code content} into raw leaves of {@code chunkBytes} and builds the root. */
    public static RawLeafFile of(byte[] content, int chunkBytes) {
        if (chunkBytes <= 0) throw new IllegalArgumentException("chunk size must be positive");
        int leaves = Math.max(1, (content.length + chunkBytes - 1) / chunkBytes);
        if (leaves > MAX_LEAVES) {
            throw new IllegalArgumentException(content.length + " bytes need " + leaves + " chunks of " + chunkBytes
                    + "; a one-level file holds at most " + MAX_LEAVES);
        }
        List<Block> blocks = new ArrayList<>(leaves + 1);
        for (int i = 0; i < leaves; i++) {
            byte[] leaf = Arrays.copyOfRange(content, i * chunkBytes, Math.min(content.length, (i + 1) * chunkBytes));
            blocks.add(new Block(Cid.ofBlock(Cid.Codec.RAW, leaf), leaf));
        }
        if (leaves == 1) return new RawLeafFile(blocks.getFirst().cid(), blocks);
        byte[] root = root(blocks, content.length);
        Cid rootCid = Cid.ofBlock(Cid.Codec.DAG_PB, root);
        blocks.add(new Block(rootCid, root));
        return new RawLeafFile(rootCid, blocks);
    }

    /** The root block (the last block; the leaf itself for a one-chunk file). */
    public Block root() {
        return blocks.getLast();
    }

    private static byte[] root(List<Block> leaves, long size) {
        UnixFsProto.Data.Builder data = UnixFsProto.Data.newBuilder().setType(UnixFsProto.Data.DataType.File).setFilesize(size);
        for (Block b : leaves) data.addBlocksizes(b.bytes().length);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            CodedOutputStream coded = CodedOutputStream.newInstance(out);
            for (Block b : leaves) {   // field 2 (Links) before field 1 (Data): the dag-pb canonical order
                coded.writeMessage(2, DagPbProto.PBLink.newBuilder().setHash(ByteString.copyFrom(b.cid().toBytes()))
                        .setName("").setTsize(b.bytes().length).build());
            }
            coded.writeBytes(1, data.build().toByteString());
            coded.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
