package dev.loracle.ipfs.unixfs;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.loracle.ipfs.Cid;
import dev.loracle.ipfs.InvalidCidException;
import dev.loracle.ipfs.VerificationException;
import dev.loracle.ipfs.unixfs.proto.DagPbProto;
import dev.loracle.ipfs.unixfs.proto.UnixFsProto;
import java.util.ArrayList;
import java.util.List;

/**
 * A decoded dag-pb block with its UnixFS payload. Decoding uses the messages generated from
 * {@code src/main/protobuf/dag_pb.proto} and {@code unixfs.proto}.
 */
public record DagPbNode(List<Link> links, UnixFsProto.Data unixFs) {

    /** A named link to a child block. */
    public record Link(Cid cid, String name, long tsize) {
    }

    /** UnixFS node types, as in the {@code Data.DataType} enum. */
    public enum Type { RAW, DIRECTORY, FILE, METADATA, SYMLINK, HAMT_SHARD }

    public static DagPbNode decode(Cid cid, byte[] block) {
        DagPbProto.PBNode node;
        try {
            node = DagPbProto.PBNode.parseFrom(block);
        } catch (InvalidProtocolBufferException e) {
            throw new VerificationException("block " + cid + " is not valid dag-pb: " + e.getMessage(), e);
        }
        List<Link> links = new ArrayList<>(node.getLinksCount());
        for (DagPbProto.PBLink link : node.getLinksList()) {
            if (!link.hasHash()) {
                throw new VerificationException("dag-pb block " + cid + " has a link without a hash");
            }
            Cid target;
            try {
                target = Cid.fromBytes(link.getHash().toByteArray());
            } catch (InvalidCidException e) {
                throw new VerificationException("dag-pb block " + cid + " links to an unacceptable CID: " + e.getMessage(), e);
            }
            links.add(new Link(target, link.getName(), link.getTsize()));
        }
        if (!node.hasData()) {
            throw new VerificationException("dag-pb block " + cid + " has no UnixFS Data: not a UnixFS node");
        }
        UnixFsProto.Data data;
        try {
            data = UnixFsProto.Data.parseFrom(node.getData());
        } catch (InvalidProtocolBufferException e) {
            throw new VerificationException("dag-pb block " + cid + " carries invalid UnixFS Data: " + e.getMessage(), e);
        }
        return new DagPbNode(List.copyOf(links), data);
    }

    public Type type() {
        return switch (unixFs.getType()) {
            case Raw -> Type.RAW;
            case Directory -> Type.DIRECTORY;
            case File -> Type.FILE;
            case Metadata -> Type.METADATA;
            case Symlink -> Type.SYMLINK;
            case HAMTShard -> Type.HAMT_SHARD;
        };
    }

    /** The inline file bytes of a File/Raw node (empty when the node only links to chunks). */
    public byte[] fileData() {
        return unixFs.getData().toByteArray();
    }
}
