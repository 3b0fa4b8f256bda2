package dev.loracle.ipfs.unixfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.ipfs.AddOptions;
import dev.loracle.ipfs.Cid;
import dev.loracle.ipfs.ContentNotFoundException;
import dev.loracle.ipfs.ContentTooLargeException;
import dev.loracle.ipfs.IpfsNodeProcess;
import dev.loracle.ipfs.KuboRpcClient;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * The CID computed locally is the one a real node stores the blocks under, and the one its own importer gives for the
 * same bytes ({@code add --cid-version 1 --raw-leaves --chunker size-524288}); the fetcher reads it back verified.
 */
class RawLeafFileTest {
    private static final int CHUNK = 512 << 10;
    private static IpfsNodeProcess node;

    @BeforeAll
    static void startNode() {
        node = IpfsNodeProcess.start();
    }

    @AfterAll
    static void stopNode() {
        if (node != null) node.close();
    }

    static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 1000, CHUNK, CHUNK + 1, 3 * CHUNK + 12345})
    void theLocalCidIsWhatTheNodeStoresAndWhatItsImporterComputes(int size) {
        byte[] content = bytes(size, size);
        RawLeafFile file = RawLeafFile.of(content, CHUNK);
        KuboRpcClient client = node.client();
        for (RawLeafFile.Block b : file.blocks()) {
            assertEquals(b.cid(), client.blockPut(b.bytes(), b.cid().codec()));
        }
        Cid imported = client.addBytes("snapshot", content, AddOptions.defaults().withOnlyHash(true).withPin(false)
                .withChunker("size-" + CHUNK)).cid();
        assertEquals(imported, file.cid(), "the node's importer");
        assertArrayEquals(content, client.cat(file.cid(), Duration.ofSeconds(10)));
        assertArrayEquals(content, new RawLeafFileFetcher(List.of(client)).fetch(file.cid(), size, Duration.ofSeconds(10)));
    }

    @Test
    void theFetcherBoundsSizeAndTime() {
        byte[] content = bytes(2 * CHUNK + 7, 3);
        RawLeafFile file = RawLeafFile.of(content, CHUNK);
        for (RawLeafFile.Block b : file.blocks()) node.client().blockPut(b.bytes(), b.cid().codec());
        RawLeafFileFetcher fetcher = new RawLeafFileFetcher(List.of(node.client()));
        assertThrows(ContentTooLargeException.class, () -> fetcher.fetch(file.cid(), content.length - 1, Duration.ofSeconds(10)));

        Cid missing = RawLeafFile.of(bytes(100, 4), CHUNK).cid();
        long t0 = System.nanoTime();
        assertThrows(ContentNotFoundException.class, () -> fetcher.fetch(missing, 1 << 20, Duration.ofMillis(1500)));
        assertTrue(Duration.ofNanos(System.nanoTime() - t0).compareTo(Duration.ofSeconds(6)) < 0, "bounded by the timeout");
    }

    @Test
    void moreChunksThanOneLevelHoldsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> RawLeafFile.of(new byte[RawLeafFile.MAX_LEAVES * 10 + 1], 10));
    }
}
