package dev.loracle.runtime.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class MemoryBudgetTest {

    @Test
    void accountsByCategoryAndOwnerAndReturnsExactlyToBase() {
        MemoryBudget m = new MemoryBudget("host", 1000);
        Reservation base = m.reserve(MemoryCategory.BASE_WEIGHTS, 600, "model");
        Reservation adapter = m.reserve(MemoryCategory.ADAPTER, 50, "a1");
        Reservation copy = m.reserve(MemoryCategory.WORKING_COPY, 120, "a1");
        Reservation kv = m.reserve(MemoryCategory.KV_CACHE, 200, "gen-1");
        Reservation scratch = m.reserve(MemoryCategory.SCRATCH, 30, "gen-1");
        assertEquals(1000, m.used());
        assertEquals(0, m.free());
        assertEquals(170, m.usedBy("a1"));
        assertEquals(230, m.usedBy("gen-1"));
        MemorySnapshot s = m.snapshot();
        assertEquals(new MemorySnapshot("host", 600, 50, 120, 200, 30, 1000, 1000, 0), s);
        adapter.close();
        copy.close();
        copy.close(); // idempotent
        kv.close();
        scratch.close();
        assertFalse(copy.active());
        assertTrue(base.active());
        assertEquals(600, m.used());
        assertEquals(m.baseBytes(), m.used());
        assertEquals(0, m.usedBy("a1"));
        assertEquals(new MemorySnapshot("host", 600, 0, 0, 0, 0, 600, 1000, 400), m.snapshot());
    }

    @Test
    void failFastRefusesAboveTheRedLineWithAClearMessage() {
        MemoryBudget m = new MemoryBudget("cuda:0", 1 << 20);
        m.reserve(MemoryCategory.BASE_WEIGHTS, 900_000, "model");
        RedLineExceededException e = assertThrows(RedLineExceededException.class,
                () -> m.reserve(MemoryCategory.KV_CACHE, 200_000, "gen-7"));
        assertTrue(e.getMessage().contains("memory red line exceeded on cuda:0: KV_CACHE reservation"),
                e.getMessage());
        assertTrue(e.getMessage().contains("'gen-7'"), e.getMessage());
        assertEquals(200_000, e.requestedBytes());
        assertEquals(900_000, e.usedBytes());
        assertEquals(1 << 20, e.redLineBytes());
        assertEquals(900_000, m.used(), "a refused reservation holds nothing");
        // exactly up to the red line is fine
        m.reserve(MemoryCategory.SCRATCH, (1 << 20) - 900_000, "s").close();
    }

    @Test
    void rejectsBadArguments() {
        assertThrows(IllegalArgumentException.class, () -> new MemoryBudget("host", 0));
        MemoryBudget m = new MemoryBudget("host", 10);
        assertThrows(IllegalArgumentException.class, () -> m.reserve(MemoryCategory.ADAPTER, -1, "x"));
        assertThrows(NullPointerException.class, () -> m.reserve(null, 1, "x"));
        assertThrows(RedLineExceededException.class, () -> m.reserve(MemoryCategory.ADAPTER, Long.MAX_VALUE, "x"));
        assertEquals(0, m.reserve(MemoryCategory.SCRATCH, 0, "x").bytes());
    }

    @Test
    void waitModeProceedsWhenMemoryIsReleased() throws Exception {
        MemoryBudget m = new MemoryBudget("host", 100);
        m.reserve(MemoryCategory.BASE_WEIGHTS, 40, "model");
        Reservation held = m.reserve(MemoryCategory.WORKING_COPY, 50, "first");
        ExecutorService ex = Executors.newSingleThreadExecutor();
        try {
            Future<Reservation> waiting = ex.submit(
                    () -> m.reserve(MemoryCategory.WORKING_COPY, 30, "second", Duration.ofSeconds(10)));
            Thread.sleep(50);
            assertFalse(waiting.isDone());
            held.close();
            Reservation got = waiting.get(5, TimeUnit.SECONDS);
            assertEquals(70, m.used());
            got.close();
            assertEquals(40, m.used());
        } finally {
            ex.shutdownNow();
        }
    }

    @Test
    void waitModeTimesOutAndImpossibleRequestsFailAtOnce() throws Exception {
        MemoryBudget m = new MemoryBudget("host", 100);
        m.reserve(MemoryCategory.BASE_WEIGHTS, 40, "model");
        m.reserve(MemoryCategory.KV_CACHE, 50, "long-generation");
        long t0 = System.nanoTime();
        RedLineExceededException e = assertThrows(RedLineExceededException.class,
                () -> m.reserve(MemoryCategory.WORKING_COPY, 20, "late", Duration.ofMillis(100)));
        long waited = System.nanoTime() - t0;
        assertTrue(waited >= 90_000_000L, "waited only " + waited + " ns");
        assertTrue(e.getMessage().contains("after waiting up to 100 ms"), e.getMessage());
        t0 = System.nanoTime();
        assertThrows(RedLineExceededException.class,
                () -> m.reserve(MemoryCategory.WORKING_COPY, 61, "never-fits", Duration.ofSeconds(30)));
        assertTrue(System.nanoTime() - t0 < 1_000_000_000L, "a request above red line minus base must not wait");
    }

    @Test
    void concurrentReserveAndReleaseEndsAtTheBaseFigure() throws Exception {
        MemoryBudget m = new MemoryBudget("host", 1_000_000);
        m.reserve(MemoryCategory.BASE_WEIGHTS, 123_457, "model");
        int threads = 8;
        ExecutorService ex = Executors.newFixedThreadPool(threads);
        CountDownLatch start = new CountDownLatch(1);
        AtomicInteger refusals = new AtomicInteger();
        AtomicInteger violations = new AtomicInteger();
        List<Future<?>> fs = new ArrayList<>();
        MemoryCategory[] cats = {MemoryCategory.ADAPTER, MemoryCategory.WORKING_COPY, MemoryCategory.KV_CACHE,
            MemoryCategory.SCRATCH};
        for (int t = 0; t < threads; t++) {
            int id = t;
            fs.add(ex.submit(() -> {
                Random r = new Random(id);
                start.await();
                List<Reservation> mine = new ArrayList<>();
                for (int i = 0; i < 20_000; i++) {
                    if (mine.isEmpty() || r.nextBoolean()) {
                        try {
                            MemoryCategory c = cats[r.nextInt(cats.length)];
                            Reservation res = r.nextInt(10) == 0
                                    ? m.reserve(c, 1 + r.nextInt(40_000), "t" + id, Duration.ofMillis(5))
                                    : m.reserve(c, 1 + r.nextInt(40_000), "t" + id);
                            mine.add(res);
                        } catch (RedLineExceededException e) {
                            refusals.incrementAndGet();
                        }
                    } else {
                        Reservation res = mine.remove(r.nextInt(mine.size()));
                        res.close();
                        if (r.nextInt(4) == 0) {
                            res.close(); // double release must not count twice
                        }
                    }
                    if (m.used() > m.redLine()) {
                        violations.incrementAndGet();
                    }
                }
                mine.forEach(Reservation::close);
                return null;
            }));
        }
        start.countDown();
        for (Future<?> f : fs) {
            f.get(60, TimeUnit.SECONDS);
        }
        ex.shutdown();
        assertEquals(0, violations.get());
        assertTrue(refusals.get() > 0, "the test should reach the red line sometimes");
        assertEquals(123_457, m.used());
        assertEquals(m.baseBytes(), m.used());
        MemorySnapshot s = m.snapshot();
        assertEquals(0, s.adapterBytes() + s.workingCopyBytes() + s.kvCacheBytes() + s.scratchBytes());
        for (int t = 0; t < threads; t++) {
            assertEquals(0, m.usedBy("t" + t));
        }
    }
}
