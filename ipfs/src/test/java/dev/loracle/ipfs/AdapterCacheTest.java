package dev.loracle.ipfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The adapter cache over a real js-ipfs (or Kubo) node. */
class AdapterCacheTest {
    private static final Duration SHORT = Duration.ofMillis(1500);
    private static IpfsNodeProcess node;

    @TempDir
    Path tmp;

    @BeforeAll
    static void startNode() {
        node = IpfsNodeProcess.start();
    }

    @AfterAll
    static void stopNode() {
        if (node != null) {
            node.close();
        }
    }

    private static ResilienceSettings quick() {
        return ResilienceSettings.defaults().withNodeTimeout(SHORT).withRetry(2, Duration.ofMillis(50));
    }

    private static VerifiedFetcher fetcher(IpfsEndpoint endpoint, FetchListener listener) {
        return VerifiedFetcher.builder().endpoints(IpfsEndpoints.of(List.of(endpoint), quick())).listener(listener).build();
    }

    private Cid addAdapter(String name, int rank, long seed) throws IOException {
        Path dir = TestData.writeAdapter(tmp.resolve("src-" + name), rank, seed);
        return node.client().addDirectory(dir, AddOptions.defaults().withWrapWithDirectory(true)).cid();
    }

    @Test
    void concurrentRequestsForOneCidCauseOneNetworkFetch() throws Exception {
        Cid cid = addAdapter("sf", 64, 1);
        AtomicInteger attempts = new AtomicInteger();
        try (CarRelayGateway slow = new CarRelayGateway(node.client()).delay(Duration.ofMillis(400));
             VerifiedFetcher f = fetcher(IpfsEndpoint.gateway("relay", slow.url()), (c, e, a, b, d, err) -> attempts.incrementAndGet());
             AdapterCache cache = AdapterCache.builder().directory(tmp.resolve("cache")).fetcher(f).build()) {
            int callers = 8;
            CountDownLatch gate = new CountDownLatch(1);
            ExecutorService pool = Executors.newFixedThreadPool(callers);
            List<Future<FetchedContent>> results = new ArrayList<>();
            for (int i = 0; i < callers; i++) {
                results.add(pool.submit(() -> {
                    gate.await();
                    return cache.get(cid);
                }));
            }
            gate.countDown();
            List<FetchedContent> contents = new ArrayList<>();
            for (Future<FetchedContent> r : results) {
                contents.add(r.get());
            }
            pool.shutdown();
            assertEquals(1, attempts.get(), "network attempts");
            assertEquals(1, slow.requests(), "requests seen by the gateway");
            CacheStats s = cache.stats();
            assertEquals(1, s.misses());
            assertEquals(callers - 1, s.coalesced() + s.hits(), s.toString());
            assertTrue(s.coalesced() > 0, "the 400 ms fetch must have overlapped other callers: " + s);
            for (FetchedContent c : contents) {
                assertEquals(cache.directory().resolve(cid.toString()), c.path());
            }
        }
    }

    @Test
    void memoryAndDiskTiersServeWithoutNetwork() throws IOException {
        Cid cid = addAdapter("tiers", 16, 2);
        AtomicInteger attempts = new AtomicInteger();
        Path dir = tmp.resolve("cache2");
        try (VerifiedFetcher f = fetcher(IpfsEndpoint.rpc("node", node.apiUrl()), (c, e, a, b, d, err) -> attempts.incrementAndGet())) {
            byte[] expected;
            try (AdapterCache cache = AdapterCache.builder().directory(dir).fetcher(f).build()) {
                FetchedContent first = cache.get(cid);
                assertEquals(FetchedContent.Source.NETWORK, first.source());
                assertFalse(first.fromCache());
                assertEquals(dir.resolve(cid.toString()), first.path());
                assertTrue(Files.isRegularFile(first.path().resolve("adapter_config.json")));
                expected = Files.readAllBytes(first.path().resolve("adapter_model.safetensors"));
                FetchedContent second = cache.get(cid);
                assertEquals(FetchedContent.Source.MEMORY, second.source());
                ByteBuffer st = second.read("adapter_model.safetensors");
                byte[] got = new byte[st.remaining()];
                st.get(got);
                assertArrayEquals(expected, got);
                CacheStats s = cache.stats();
                assertEquals(1, s.misses());
                assertEquals(1, s.memoryHits());
                assertTrue(s.memoryBytes() >= expected.length);
                assertEquals(first.bytes(), s.bytesFetched());
                assertTrue(s.fetchLatencyTotal().toNanos() > 0);
            }
            // A new cache on the same directory (restart) finds the entry on disk; memory tier disabled.
            try (AdapterCache reopened = AdapterCache.builder().directory(dir).maxMemoryBytes(0).fetcher(f).build()) {
                assertTrue(reopened.contains(cid));
                FetchedContent again = reopened.get(cid);
                assertEquals(FetchedContent.Source.DISK, again.source());
                assertTrue(again.fromCache());
                assertArrayEquals(expected, Files.readAllBytes(again.path().resolve("adapter_model.safetensors")));
                assertEquals(0, reopened.stats().misses());
            }
            assertEquals(1, attempts.get());
            // The v0 form of the same content is the same cache entry.
            try (AdapterCache reopened = AdapterCache.builder().directory(dir).fetcher(f).build()) {
                assertTrue(reopened.get(cid.toV0()).fromCache());
            }
        }
    }

    @Test
    void leastRecentlyUsedEntriesAreEvictedByBytes() throws IOException {
        KuboRpcClient c = node.client();
        List<Cid> cids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            cids.add(c.addBytes("e" + i, TestData.random(1024 * 1024, 100 + i), AddOptions.defaults()).cid());
        }
        Path dir = tmp.resolve("cache3");
        try (VerifiedFetcher f = fetcher(IpfsEndpoint.rpc("node", node.apiUrl()), (x, e, a, b, d, err) -> { });
             AdapterCache cache = AdapterCache.builder().directory(dir).maxDiskBytes(2L * 1024 * 1024 + 512 * 1024)
                     .maxMemoryBytes(0).fetcher(f).build()) {
            cache.get(cids.get(0));
            cache.get(cids.get(1));
            cache.get(cids.get(0)); // 0 is now more recent than 1
            cache.get(cids.get(2)); // over budget: evicts 1, the least recently used
            assertTrue(cache.contains(cids.get(0)));
            assertFalse(cache.contains(cids.get(1)));
            assertTrue(cache.contains(cids.get(2)));
            assertFalse(Files.exists(dir.resolve(cids.get(1).toString())));
            assertEquals(List.of(cids.get(0).toString(), cids.get(2).toString()).stream().sorted().toList(), TestData.list(dir));
            CacheStats s = cache.stats();
            assertEquals(1, s.evictions());
            assertEquals(2L * 1024 * 1024, s.diskBytes());
            assertFalse(cache.get(cids.get(1)).fromCache(), "an evicted entry is fetched again");
        }
    }

    @Test
    void failedVerificationLeavesNoPartialEntry() throws IOException {
        Cid cid = node.client().addBytes("big", TestData.random(2 * 1024 * 1024, 42), AddOptions.defaults()).cid();
        Path dir = tmp.resolve("cache4");
        // The relay flips a byte in the last block, after ~2 MiB were already written to the staging file.
        try (CarRelayGateway attacker = new CarRelayGateway(node.client()).tamperFromEnd(100);
             VerifiedFetcher f = fetcher(IpfsEndpoint.gateway("attacker", attacker.url()), (x, e, a, b, d, err) -> { });
             AdapterCache cache = AdapterCache.builder().directory(dir).fetcher(f).build()) {
            VerificationException e = assertThrows(VerificationException.class, () -> cache.get(cid));
            assertTrue(e.getMessage().contains("does not hash to its CID"), e.getMessage());
            assertEquals(List.of(), TestData.list(dir), "no entry, staging file or spill file may remain");
            assertFalse(cache.contains(cid));
            assertEquals(1, cache.stats().fetchFailures());
        }
    }

    @Test
    void missingContentFailsFastAndCachesNothing() throws IOException {
        Cid never = Cid.ofBlock(Cid.Codec.RAW, "adapter that was never published".getBytes());
        Path dir = tmp.resolve("cache5");
        try (VerifiedFetcher f = fetcher(IpfsEndpoint.rpc("node", node.apiUrl()), (x, e, a, b, d, err) -> { });
             AdapterCache cache = AdapterCache.builder().directory(dir).fetcher(f).build()) {
            long start = System.nanoTime();
            assertThrows(ContentNotFoundException.class, () -> cache.get(never));
            assertTrue(System.nanoTime() - start < Duration.ofSeconds(5).toNanos());
            assertEquals(List.of(), TestData.list(dir));
        }
    }

    @Test
    void hotAdaptersArePinnedOnTheNode() throws Exception {
        KuboRpcClient c = node.client();
        Path src = TestData.writeAdapter(tmp.resolve("src-pin"), 8, 77);
        Cid hot = c.addDirectory(src, AddOptions.defaults().withWrapWithDirectory(true).withPin(false)).cid();
        Cid cold = c.addBytes("cold", TestData.random(4096, 78), AddOptions.defaults().withPin(false)).cid();
        try (VerifiedFetcher f = fetcher(IpfsEndpoint.rpc("node", node.apiUrl()), (x, e, a, b, d, err) -> { });
             AdapterCache cache = AdapterCache.builder().directory(tmp.resolve("cache6")).fetcher(f)
                     .pinHotAdapters(c, 2).build()) {
            cache.get(hot);
            cache.get(hot);
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (cache.stats().pins() < 1 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertEquals(1, cache.stats().pins());
        }
        c.repoGc();
        // The pinned adapter survives garbage collection; unpinned content does not.
        assertTrue(Cid.parse(hot.toString()).matches(c.blockGet(hot, SHORT)));
        assertThrows(IpfsRpcException.class, () -> c.blockGet(cold, Duration.ofMillis(500)));
    }
}
