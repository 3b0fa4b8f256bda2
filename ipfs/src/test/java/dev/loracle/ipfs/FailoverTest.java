package dev.loracle.ipfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/** Two real nodes holding the same adapter; the first goes down. The node-stopping test runs last. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FailoverTest {
    private static IpfsNodeProcess first;
    private static IpfsNodeProcess second;

    @TempDir
    Path tmp;

    @BeforeAll
    static void startNodes() {
        // Start both at once: each js-ipfs start takes seconds.
        var other = java.util.concurrent.CompletableFuture.supplyAsync(IpfsNodeProcess::start);
        first = IpfsNodeProcess.start();
        second = other.join();
    }

    @AfterAll
    static void stopNodes() {
        for (IpfsNodeProcess n : new IpfsNodeProcess[]{first, second}) {
            if (n != null) {
                n.close();
            }
        }
    }

    private Cid addToBoth(Path adapter) {
        Cid a = first.client().addDirectory(adapter, AddOptions.defaults().withWrapWithDirectory(true)).cid();
        Cid b = second.client().addDirectory(adapter, AddOptions.defaults().withWrapWithDirectory(true)).cid();
        assertEquals(a, b, "same content, same CID on both nodes");
        return a;
    }

    @Test
    @Order(2)
    void breakerOpensOnTheDeadNodeAndFetchesFailOverToTheNext() throws IOException {
        Path adapter = TestData.writeAdapter(tmp.resolve("adapter"), 16, 5);
        Cid cid = addToBoth(adapter);
        Map<String, AtomicInteger> attempts = new ConcurrentHashMap<>();
        ResilienceSettings settings = ResilienceSettings.defaults()
                .withNodeTimeout(Duration.ofSeconds(2))
                .withRetry(2, Duration.ofMillis(20))
                .withBreaker(4, 3, Duration.ofMinutes(5));
        IpfsEndpoints endpoints = IpfsEndpoints.of(List.of(IpfsEndpoint.rpc("first", first.apiUrl()),
                IpfsEndpoint.rpc("second", second.apiUrl())), settings);
        try (VerifiedFetcher f = VerifiedFetcher.builder().endpoints(endpoints)
                .listener((c, e, a, b, d, err) -> attempts.computeIfAbsent(e.name(), k -> new AtomicInteger()).incrementAndGet())
                .build()) {
            assertEquals("first", f.fetch(cid, tmp.resolve("up")).endpoint());
            first.kill(); // down hard; a graceful js-ipfs stop takes seconds
            FetchResult r1 = f.fetch(cid, tmp.resolve("down1"));
            assertEquals("second", r1.endpoint());
            assertArrayEquals(Files.readAllBytes(adapter.resolve("adapter_model.safetensors")),
                    Files.readAllBytes(tmp.resolve("down1/adapter_model.safetensors")));
            // 1 success + 2 refused attempts (the retry) on the dead node: 2 failures in 3 calls open its breaker.
            assertEquals(3, attempts.get("first").get());
            assertEquals(CircuitBreaker.State.OPEN, endpoints.breaker("first").getState());
            // While open, the dead node is skipped without a connection attempt.
            for (int i = 0; i < 3; i++) {
                assertEquals("second", f.fetch(cid, tmp.resolve("open" + i)).endpoint());
            }
            assertEquals(3, attempts.get("first").get());
            assertEquals(CircuitBreaker.State.CLOSED, endpoints.breaker("second").getState());
            // With both down: one error naming both endpoints.
            second.kill();
            IpfsUnavailableException all = assertThrows(IpfsUnavailableException.class, () -> f.fetch(cid, tmp.resolve("none")));
            assertTrue(all.getMessage().contains("first: circuit breaker open"), all.getMessage());
            assertTrue(all.getMessage().contains("second (after 2 attempt(s)): cannot connect"), all.getMessage());
            assertFalse(Files.exists(tmp.resolve("none")));
        }
    }

    @Test
    @Order(1)
    void killedNodeRestartsWithItsContent() throws IOException {
        byte[] data = TestData.random(300_000, 12);
        Cid cid = first.client().addBytes("k.bin", data, AddOptions.defaults()).cid();
        first.kill();
        assertFalse(first.isRunning());
        first.restart(); // clears the stale repo.lock / api left by SIGKILL
        assertTrue(first.isRunning());
        try (VerifiedFetcher f = VerifiedFetcher.builder().endpoints(IpfsEndpoints.of(IpfsEndpoint.rpc("first", first.apiUrl())))
                .build()) {
            f.fetch(cid, tmp.resolve("k"));
            assertArrayEquals(data, Files.readAllBytes(tmp.resolve("k")));
        }
    }
}
