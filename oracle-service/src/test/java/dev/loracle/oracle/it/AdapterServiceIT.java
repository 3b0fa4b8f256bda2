package dev.loracle.oracle.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loracle.ipfs.AdapterCache;
import dev.loracle.ipfs.Cid;
import dev.loracle.ipfs.FetchLimits;
import dev.loracle.ipfs.IpfsEndpoint;
import dev.loracle.ipfs.IpfsEndpoints;
import dev.loracle.ipfs.ResilienceSettings;
import dev.loracle.ipfs.VerifiedFetcher;
import dev.loracle.oracle.journal.AdapterSpec;
import dev.loracle.oracle.journal.InferenceSpec;
import dev.loracle.oracle.journal.RequestOrigin;
import dev.loracle.oracle.pipeline.AdapterService;
import dev.loracle.runtime.engine.InferenceEngine;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.math.BigInteger;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The adapter service against the real IPFS node: a CID named by many requests at once is fetched and parsed once
 * (the others share that result), and the parsed-adapter cache stays within its byte bound, accounted in its own
 * host budget while the engine's memory stays at its base.
 */
class AdapterServiceIT {
    @TempDir
    Path cacheDir;

    @Test
    void oneFetchPerCidUnderConcurrencyAndAByteBoundedParsedCache() throws Exception {
        LocalStack stack = LocalStack.get();
        List<Cid> cids = stack.adapterCids().subList(0, 2);
        InferenceSpec spec = new InferenceSpec("cmpl-test", RequestOrigin.API, null, "0x" + "11".repeat(32),
                cids.stream().map(c -> new AdapterSpec(c.toBytes(), 5_000)).toList(), "Once".getBytes(), 4, 0, 10_000,
                BigInteger.ONE, 0, 0, BigInteger.ZERO, null, 0);
        try (InferenceEngine engine = stack.openEngine();
             IpfsEndpoints endpoints = IpfsEndpoints.of(List.of(IpfsEndpoint.rpc("ipfs", stack.ipfs.apiUrl())),
                     ResilienceSettings.defaults());
             AdapterCache cache = AdapterCache.builder().directory(cacheDir).maxDiskBytes(1L << 30).maxMemoryBytes(1L << 26)
                     .fetcher(VerifiedFetcher.builder().endpoints(endpoints).limits(FetchLimits.ofMaxContentBytes(1L << 26))
                             .build()).build();
             ExecutorService pool = Executors.newFixedThreadPool(8)) {
            SimpleMeterRegistry meters = new SimpleMeterRegistry();
            AdapterService adapters = new AdapterService(cache, engine.shape(), engine.adapterLoadOptions(), 1L << 26, 1L << 26, meters);
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> loads = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                loads.add(pool.submit(() -> {
                    start.await();
                    return adapters.load(spec);
                }));
            }
            start.countDown();
            for (Future<?> f : loads) f.get();
            double misses = meters.counter("loracle.adapters.parsed", "result", "miss").count();
            double reused = meters.counter("loracle.adapters.parsed", "result", "shared").count()
                    + meters.counter("loracle.adapters.parsed", "result", "hit").count();
            assertThat(misses).as("one fetch + parse per distinct CID").isEqualTo(2);
            assertThat(reused).isEqualTo(8 * 2 - 2);
            assertThat(cache.stats().misses()).as("IPFS fetches").isEqualTo(2);
            // the parsed copies are accounted in the cache's own host budget, the engine's figure stays at its base
            assertThat(adapters.parsedCache().budget().used()).isEqualTo(adapters.parsedBytes()).isPositive();
            assertThat(adapters.parsedCache().size()).isEqualTo(2);
            assertThat(engine.memory().used()).isEqualTo(engine.memory().baseBytes());
            assertThat(meters.get("loracle.adapters.parsed.bytes").gauge().value()).isEqualTo(adapters.parsedBytes());

            // a bound below two adapters keeps at most what fits
            long one = adapters.parsedBytes() / 2;
            AdapterService small = new AdapterService(cache, engine.shape(), engine.adapterLoadOptions(), 1L << 26, one + one / 2, new SimpleMeterRegistry());
            small.load(spec);
            assertThat(small.parsedBytes()).isPositive().isLessThanOrEqualTo(one + one / 2);
        }
    }
}
