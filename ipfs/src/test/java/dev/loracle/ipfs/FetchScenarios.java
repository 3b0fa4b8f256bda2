package dev.loracle.ipfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.loracle.ipfs.unixfs.UnixFsAssembler;
import dev.loracle.ipfs.unixfs.proto.DagPbProto;
import dev.loracle.ipfs.unixfs.proto.UnixFsProto;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fetch-and-verify scenarios run against a real node: js-ipfs/Kubo started locally ({@link LocalNodeFetchTest}) and
 * the ipfs/kubo container where Docker exists ({@link KuboContainerFetchTest}).
 */
abstract class FetchScenarios {
    static final Duration SHORT = Duration.ofMillis(1500);

    @TempDir
    Path tmp;

    /** The node's RPC API. */
    abstract URI apiUrl();

    /** A trustless gateway endpoint if the node serves one (Kubo), else null (js-ipfs). */
    abstract URI trustlessGatewayUrl();

    KuboRpcClient client() {
        return new KuboRpcClient(apiUrl(), Duration.ofSeconds(30));
    }

    VerifiedFetcher fetcher(IpfsEndpoint endpoint, FetchLimits limits) {
        ResilienceSettings settings = ResilienceSettings.defaults().withNodeTimeout(SHORT).withRetry(2, Duration.ofMillis(50));
        return VerifiedFetcher.builder().endpoints(IpfsEndpoints.of(List.of(endpoint), settings)).limits(limits).build();
    }

    VerifiedFetcher rpcFetcher() {
        return fetcher(IpfsEndpoint.rpc("node", apiUrl()), FetchLimits.defaults());
    }

    @Test
    void twelveByteFileMatchesReferenceCidsInV0AndV1() throws IOException {
        byte[] hello = "hello world\n".getBytes();
        assertEquals(12, hello.length);
        AddedEntry v0 = client().addBytes("hello.txt", hello, AddOptions.cidV0());
        AddedEntry v1 = client().addBytes("hello.txt", hello, AddOptions.defaults());
        assertEquals("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o", v0.cid().toString());
        assertEquals("bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4", v1.cid().toString());
        try (VerifiedFetcher f = rpcFetcher()) {
            for (Cid cid : List.of(v0.cid(), v1.cid())) {
                Path out = tmp.resolve(cid.toString());
                FetchResult r = f.fetch(cid, out);
                assertTrue(r.verified());
                assertFalse(r.directory());
                assertEquals(12, r.bytes());
                assertArrayEquals(hello, Files.readAllBytes(out));
            }
        }
    }

    @Test
    void multiMegabyteChunkedFileInV0AndV1() throws IOException {
        byte[] data = TestData.random(3 * 1024 * 1024 + 12345, 7);
        Path src = tmp.resolve("big.bin");
        Files.write(src, data);
        AddedEntry v0 = client().addFile("big.bin", src, AddOptions.cidV0());
        AddedEntry v1 = client().addFile("big.bin", src, AddOptions.defaults());
        assertEquals(0, v0.cid().version());
        assertEquals(Cid.Codec.DAG_PB, v1.cid().codec());
        // 13 chunks of 256 KiB: the root is a dag-pb node linking raw leaves (v1) or dag-pb leaves (v0).
        assertEquals(13, dev.loracle.ipfs.unixfs.DagPbNode.decode(v1.cid(), client().blockGet(v1.cid(), SHORT)).links().size());
        assertEquals(13, dev.loracle.ipfs.unixfs.DagPbNode.decode(v0.cid(), client().blockGet(v0.cid(), SHORT)).links().size());
        try (VerifiedFetcher f = rpcFetcher()) {
            for (Cid cid : List.of(v0.cid(), v1.cid())) {
                Path out = tmp.resolve("out-" + cid);
                FetchResult r = f.fetch(cid, out);
                assertEquals(data.length, r.bytes());
                assertArrayEquals(data, Files.readAllBytes(out));
            }
        }
    }

    @Test
    void multiLevelDagWithSmallChunks() throws IOException {
        // 1 KiB chunks: 200 leaves exceed the 174 links per node, so the DAG has two levels of internal nodes.
        byte[] data = TestData.random(200 * 1024 + 77, 11);
        AddedEntry added = client().addBytes("multi.bin", data, AddOptions.defaults().withChunker("size-1024"));
        try (VerifiedFetcher f = rpcFetcher()) {
            Path out = tmp.resolve("multi");
            f.fetch(added.cid(), out);
            assertArrayEquals(data, Files.readAllBytes(out));
        }
        dev.loracle.ipfs.unixfs.DagPbNode root = dev.loracle.ipfs.unixfs.DagPbNode.decode(added.cid(),
                client().blockGet(added.cid(), SHORT));
        assertEquals(2, root.links().size(), "174 + 27 leaves under two internal nodes");
        assertEquals(Cid.Codec.DAG_PB, root.links().getFirst().cid().codec());
        // Deduplicated chunks (all-zero data): one leaf CID repeated many times in the DAG.
        byte[] zeros = new byte[40 * 1024];
        AddedEntry z = client().addBytes("zeros.bin", zeros, AddOptions.defaults().withChunker("size-1024"));
        try (VerifiedFetcher f = rpcFetcher()) {
            Path out = tmp.resolve("zeros");
            f.fetch(z.cid(), out);
            assertArrayEquals(zeros, Files.readAllBytes(out));
        }
    }

    @Test
    void peftAdapterDirectory() throws IOException {
        Path adapter = TestData.writeAdapter(tmp.resolve("adapter"), 8, 3);
        AddedEntry root = client().addDirectory(adapter, AddOptions.defaults().withWrapWithDirectory(true));
        assertEquals(1, root.cid().version());
        assertTrue(root.cid().toString().startsWith("bafy"), root.cid().toString());
        try (VerifiedFetcher f = rpcFetcher()) {
            Path out = tmp.resolve("fetched");
            FetchResult r = f.fetch(root.cid(), out);
            assertTrue(r.directory());
            assertEquals(2, r.files());
            assertEquals(List.of("adapter_config.json", "adapter_model.safetensors"), TestData.list(out));
            for (String name : List.of("adapter_config.json", "adapter_model.safetensors")) {
                assertArrayEquals(Files.readAllBytes(adapter.resolve(name)), Files.readAllBytes(out.resolve(name)), name);
            }
        }
    }

    @Test
    void tamperedCarBlocksAreRejected() throws IOException {
        byte[] data = TestData.random(600 * 1024, 5);
        AddedEntry added = client().addBytes("t.bin", data, AddOptions.defaults());
        byte[] car = TestData.readAll(client().dagExport(added.cid(), SHORT));
        // Sanity: the untouched CAR verifies.
        UnixFsAssembler.Result ok = VerifiedFetcher.verifyCar(new ByteArrayInputStream(car), added.cid(),
                tmp.resolve("ok"), FetchLimits.defaults());
        assertEquals(data.length, ok.bytes());
        // Flip one byte at several places: inside a leaf near the end (after file data was written), and mid-CAR.
        for (int at : new int[]{car.length - 10, car.length / 2}) {
            byte[] bad = car.clone();
            bad[at] ^= 0x01;
            Path target = tmp.resolve("bad-" + at);
            VerificationException e = assertThrows(VerificationException.class, () ->
                    VerifiedFetcher.verifyCar(new ByteArrayInputStream(bad), added.cid(), target, FetchLimits.defaults()));
            assertTrue(e.getMessage().contains("does not hash to its CID"), e.getMessage());
            assertFalse(Files.exists(target), "partial output must be removed");
        }
        // A CAR for other content is refused for this CID (root mismatch).
        AddedEntry other = client().addBytes("o.bin", "other".getBytes(), AddOptions.defaults());
        byte[] otherCar = TestData.readAll(client().dagExport(other.cid(), SHORT));
        VerificationException rootErr = assertThrows(VerificationException.class, () -> VerifiedFetcher.verifyCar(
                new ByteArrayInputStream(otherCar), added.cid(), tmp.resolve("x"), FetchLimits.defaults()));
        assertTrue(rootErr.getMessage().contains("do not match"), rootErr.getMessage());
        // A CAR cut short (last block missing) names the missing block.
        byte[] cut = java.util.Arrays.copyOf(car, car.length - (200 * 1024));
        Exception missing = assertThrows(Exception.class, () -> VerifiedFetcher.verifyCar(
                new ByteArrayInputStream(cut), added.cid(), tmp.resolve("cut"), FetchLimits.defaults()));
        assertTrue(missing instanceof java.io.EOFException || missing instanceof MissingBlockException, missing.toString());
    }

    @Test
    void missingCidTimesOutWithClearErrorFast() {
        Cid never = Cid.ofBlock(Cid.Codec.RAW, "never added to any node".getBytes());
        try (VerifiedFetcher f = rpcFetcher()) {
            long start = System.nanoTime();
            ContentNotFoundException e = assertThrows(ContentNotFoundException.class, () -> f.fetch(never, tmp.resolve("n")));
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertTrue(e.getMessage().contains(never.toString()), e.getMessage());
            assertTrue(e.getMessage().contains("not found within " + SHORT.toMillis() + " ms"), e.getMessage());
            assertTrue(ms < SHORT.toMillis() + 3000, "took " + ms + " ms");
            assertFalse(Files.exists(tmp.resolve("n")));
        }
    }

    @Test
    void contentOverTheLimitIsRejected() throws IOException {
        byte[] data = TestData.random(2 * 1024 * 1024, 9);
        AddedEntry added = client().addBytes("l.bin", data, AddOptions.defaults());
        try (VerifiedFetcher f = fetcher(IpfsEndpoint.rpc("node", apiUrl()), FetchLimits.ofMaxContentBytes(1024 * 1024))) {
            assertThrows(ContentTooLargeException.class, () -> f.fetch(added.cid(), tmp.resolve("l")));
            assertFalse(Files.exists(tmp.resolve("l")));
        }
    }

    @Test
    void unexpectedNodeTypesAndUnsafeNamesAreRejected() {
        KuboRpcClient c = client();
        // A UnixFS symlink, stored as a real dag-pb block on the node.
        byte[] symlink = pbNode(UnixFsProto.Data.newBuilder().setType(UnixFsProto.Data.DataType.Symlink)
                .setData(ByteString.copyFromUtf8("/etc/passwd")).build(), List.of());
        Cid symlinkCid = c.blockPut(symlink, Cid.Codec.DAG_PB);
        // A HAMT-sharded directory node.
        byte[] hamt = pbNode(UnixFsProto.Data.newBuilder().setType(UnixFsProto.Data.DataType.HAMTShard)
                .setFanout(256).setHashType(0x22).build(), List.of());
        Cid hamtCid = c.blockPut(hamt, Cid.Codec.DAG_PB);
        // A directory whose entry name would escape the target directory.
        Cid leaf = c.blockPut("payload".getBytes(), Cid.Codec.RAW);
        byte[] evilDir = pbNode(UnixFsProto.Data.newBuilder().setType(UnixFsProto.Data.DataType.Directory).build(),
                List.of(DagPbProto.PBLink.newBuilder().setHash(ByteString.copyFrom(leaf.toBytes())).setName("..")
                        .setTsize(7).build()));
        Cid evilCid = c.blockPut(evilDir, Cid.Codec.DAG_PB);
        // A file node whose declared block size disagrees with its chunk.
        byte[] liar = pbNode(UnixFsProto.Data.newBuilder().setType(UnixFsProto.Data.DataType.File).setFilesize(99)
                .addBlocksizes(99).build(), List.of(DagPbProto.PBLink.newBuilder()
                .setHash(ByteString.copyFrom(leaf.toBytes())).setTsize(7).build()));
        Cid liarCid = c.blockPut(liar, Cid.Codec.DAG_PB);
        try (VerifiedFetcher f = rpcFetcher()) {
            VerificationException sym = assertThrows(VerificationException.class, () -> f.fetch(symlinkCid, tmp.resolve("s")));
            assertTrue(sym.getMessage().contains("SYMLINK"), sym.getMessage());
            assertThrows(UnsupportedContentException.class, () -> f.fetch(hamtCid, tmp.resolve("h")));
            IpfsException evil = assertThrows(IpfsException.class, () -> f.fetch(evilCid, tmp.resolve("e")));
            assertTrue(evil.getMessage().contains("unsafe entry name"), evil.getMessage());
            IpfsException lie = assertThrows(IpfsException.class, () -> f.fetch(liarCid, tmp.resolve("l")));
            assertTrue(lie.getMessage().contains("parent declares 99"), lie.getMessage());
            assertFalse(Files.exists(tmp.resolve("e")));
        }
    }

    @Test
    void trustedNodePlainBytesPath() throws IOException {
        Path adapter = TestData.writeAdapter(tmp.resolve("adapter-t"), 4, 8);
        AddedEntry root = client().addDirectory(adapter, AddOptions.defaults().withWrapWithDirectory(true));
        try (VerifiedFetcher f = fetcher(IpfsEndpoint.rpc("own-node", apiUrl()).trusted(), FetchLimits.defaults())) {
            FetchResult r = f.fetch(root.cid(), tmp.resolve("plain"));
            assertFalse(r.verified(), "the cat path must say it did not verify the bytes");
            assertArrayEquals(Files.readAllBytes(adapter.resolve("adapter_model.safetensors")),
                    Files.readAllBytes(tmp.resolve("plain/adapter_model.safetensors")));
        }
    }

    @Test
    void trustlessGatewayCarPath() throws IOException {
        URI gw = trustlessGatewayUrl();
        org.junit.jupiter.api.Assumptions.assumeTrue(gw != null,
                "this node (js-ipfs) serves no trustless gateway (?format=car); covered by the Kubo container test");
        byte[] data = TestData.random(1024 * 1024 + 3, 21);
        AddedEntry added = client().addBytes("g.bin", data, AddOptions.defaults());
        try (VerifiedFetcher f = fetcher(IpfsEndpoint.gateway("gateway", gw), FetchLimits.defaults())) {
            f.fetch(added.cid(), tmp.resolve("g"));
            assertArrayEquals(data, Files.readAllBytes(tmp.resolve("g")));
        }
    }

    @Test
    void rpcCallsAndNodeErrors() throws IOException {
        KuboRpcClient c = client();
        assertFalse(c.version().isBlank());
        Path adapter = TestData.writeAdapter(tmp.resolve("adapter-rpc"), 4, 31);
        AddedEntry onlyHash = c.addDirectory(adapter, AddOptions.defaults().withWrapWithDirectory(true).withOnlyHash(true));
        AddedEntry root = c.addDirectory(adapter, AddOptions.defaults().withWrapWithDirectory(true));
        assertEquals(onlyHash.cid(), root.cid(), "only-hash computes the same CID");
        List<LsEntry> entries = c.ls(root.cid(), SHORT);
        assertEquals(List.of("adapter_config.json", "adapter_model.safetensors"), entries.stream().map(LsEntry::name).toList());
        assertFalse(entries.getFirst().isDirectory());
        byte[] config = Files.readAllBytes(adapter.resolve("adapter_config.json"));
        assertArrayEquals(config, c.cat(entries.getFirst().cid(), SHORT));
        assertTrue(entries.getFirst().cid().matches(c.blockGet(entries.getFirst().cid(), SHORT)));
        c.pinRm(root.cid());
        c.pinAdd(root.cid(), SHORT);
        // A node error carries the node's own message.
        IpfsRpcException e = assertThrows(IpfsRpcException.class, () -> c.cat(root.cid(), SHORT));
        assertTrue(e.nodeMessage().toLowerCase().contains("directory"), e.nodeMessage());
        assertTrue(e.getMessage().contains(apiUrl().toString()), e.getMessage());
        IpfsTransportException down = assertThrows(IpfsTransportException.class,
                () -> new KuboRpcClient(URI.create("http://127.0.0.1:9"), SHORT).version());
        assertTrue(down.getMessage().contains("cannot connect"), down.getMessage());
    }

    static byte[] pbNode(UnixFsProto.Data data, List<DagPbProto.PBLink> links) {
        return DagPbProto.PBNode.newBuilder().setData(data.toByteString()).addAllLinks(links).build().toByteArray();
    }
}
