package dev.loracle.ipfs.unixfs;

import com.google.protobuf.ByteString;
import dev.loracle.ipfs.Cid;
import dev.loracle.ipfs.unixfs.proto.DagPbProto;
import dev.loracle.ipfs.unixfs.proto.UnixFsProto;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Builds UnixFS DAGs and CARv1 bytes in tests, so block order, duplicates and omissions can be chosen freely
 * (a node always exports depth-first). Encodes dag-pb with the generated messages, Links before Data.
 */
final class SyntheticCar {
    record Block(Cid cid, byte[] data) {
    }

    final List<Block> blocks = new ArrayList<>();

    Cid raw(byte[] data) {
        Cid cid = Cid.ofBlock(Cid.Codec.RAW, data);
        blocks.add(new Block(cid, data));
        return cid;
    }

    /** A file node over {@code children} (CID, content size) with optional inline data. */
    Cid file(List<Cid> children, List<Long> sizes) {
        UnixFsProto.Data.Builder data = UnixFsProto.Data.newBuilder().setType(UnixFsProto.Data.DataType.File);
        long total = 0;
        for (long s : sizes) {
            data.addBlocksizes(s);
            total += s;
        }
        data.setFilesize(total);
        DagPbProto.PBNode.Builder node = DagPbProto.PBNode.newBuilder().setData(data.build().toByteString());
        for (Cid c : children) {
            node.addLinks(DagPbProto.PBLink.newBuilder().setHash(ByteString.copyFrom(c.toBytes())).setName("").setTsize(0));
        }
        return pb(node.build().toByteArray());
    }

    Cid directory(List<String> names, List<Cid> children) {
        DagPbProto.PBNode.Builder node = DagPbProto.PBNode.newBuilder().setData(
                UnixFsProto.Data.newBuilder().setType(UnixFsProto.Data.DataType.Directory).build().toByteString());
        for (int i = 0; i < names.size(); i++) {
            node.addLinks(DagPbProto.PBLink.newBuilder().setHash(ByteString.copyFrom(children.get(i).toBytes()))
                    .setName(names.get(i)).setTsize(0));
        }
        return pb(node.build().toByteArray());
    }

    Cid pb(byte[] block) {
        Cid cid = Cid.ofBlock(Cid.Codec.DAG_PB, block);
        blocks.add(new Block(cid, block));
        return cid;
    }

    /** CARv1 bytes with the given root and blocks in the given order. */
    static byte[] car(Cid root, List<Block> order) {
        ByteArrayOutputStream header = new ByteArrayOutputStream();
        header.write(0xA2);
        text(header, "roots");
        header.write(0x81);
        header.write(0xD8);
        header.write(42);
        byte[] cid = root.toBytes();
        header.write(0x58);
        header.write(cid.length + 1);
        header.write(0);
        header.writeBytes(cid);
        text(header, "version");
        header.write(0x01);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        varint(out, header.size());
        out.writeBytes(header.toByteArray());
        for (Block b : order) {
            byte[] c = b.cid().toBytes();
            varint(out, c.length + b.data().length);
            out.writeBytes(c);
            out.writeBytes(b.data());
        }
        return out.toByteArray();
    }

    static List<Block> reversed(List<Block> blocks) {
        List<Block> r = new ArrayList<>(blocks);
        java.util.Collections.reverse(r);
        return r;
    }

    static byte[] concat(List<byte[]> parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        parts.forEach(out::writeBytes);
        return out.toByteArray();
    }

    static byte[] chunk(byte[] all, int from, int to) {
        return Arrays.copyOfRange(all, from, to);
    }

    private static void text(ByteArrayOutputStream out, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.write(0x60 | b.length);
        out.writeBytes(b);
    }

    private static void varint(ByteArrayOutputStream out, long v) {
        while ((v & ~0x7FL) != 0) {
            out.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
    }
}
