package dev.loracle.ipfs.bench;

import dev.loracle.ipfs.AdapterCache;
import dev.loracle.ipfs.AdapterPublisher;
import dev.loracle.ipfs.Cid;
import dev.loracle.ipfs.FetchLimits;
import dev.loracle.ipfs.FetchedContent;
import dev.loracle.ipfs.IpfsEndpoint;
import dev.loracle.ipfs.IpfsEndpoints;
import dev.loracle.ipfs.IpfsNodeProcess;
import dev.loracle.ipfs.KuboRpcClient;
import dev.loracle.ipfs.LsEntry;
import dev.loracle.ipfs.ResilienceSettings;
import dev.loracle.ipfs.VerifiedFetcher;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

/**
 * Benchmark (not a test): for a 16 MiB random adapter on a real local node, compares in the same run
 * <ul>
 *   <li>the node's own {@code cat} of the adapter's files (plain bytes, no verification),</li>
 *   <li>the node's {@code dag/export} CAR read and discarded (the transfer the verified path makes),</li>
 *   <li>cold {@link AdapterCache#get} = CAR fetch + per-block sha2-256 + UnixFS checks + write (+ fsync) + atomic
 *   move, with and without {@code syncWrites},</li>
 * </ul>
 * and the warm-cache latency of {@code get} (memory tier, and disk tier with the memory tier off).
 * Run with {@code ipfs/bin/bench [sizeMiB] [rounds]}.
 */
public final class FetchBenchmark {
    private FetchBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int sizeMiB = args.length > 0 ? Integer.parseInt(args[0]) : 16;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 7;
        Path work = Files.createTempDirectory("loracle-ipfs-bench-");
        try (IpfsNodeProcess node = IpfsNodeProcess.start()) {
            KuboRpcClient client = new KuboRpcClient(node.apiUrl(), Duration.ofSeconds(60));
            Path adapter = Files.createDirectories(work.resolve("adapter"));
            Files.writeString(adapter.resolve("adapter_config.json"), "{\"peft_type\":\"LORA\",\"r\":64}\n");
            byte[] weights = new byte[sizeMiB << 20];
            new Random(1).nextBytes(weights);
            Files.write(adapter.resolve("adapter_model.safetensors"), weights);
            Cid cid = new AdapterPublisher(client).publish(adapter);
            List<LsEntry> files = client.ls(cid, Duration.ofSeconds(10));
            long totalBytes = Files.size(adapter.resolve("adapter_config.json")) + weights.length;
            System.out.printf("node: %s%nadapter %s: %d files, %d bytes%n", node, cid, files.size(), totalBytes);

            ResilienceSettings settings = ResilienceSettings.defaults().withNodeTimeout(Duration.ofSeconds(30));
            try (VerifiedFetcher fetcher = VerifiedFetcher.builder()
                    .endpoints(IpfsEndpoints.of(List.of(IpfsEndpoint.rpc("local", node.apiUrl())), settings)).build();
                 VerifiedFetcher noSync = VerifiedFetcher.builder().syncWrites(false)
                    .endpoints(IpfsEndpoints.of(List.of(IpfsEndpoint.rpc("local", node.apiUrl())), settings)).build()) {
                long[] cat = new long[rounds];
                long[] export = new long[rounds];
                long[] cold = new long[rounds];
                long[] coldNoSync = new long[rounds];
                long[] verifyOnly = new long[rounds];
                byte[] carImage = client.dagExport(cid, Duration.ofSeconds(30)).readAllBytes();
                int warmup = 3;
                for (int i = -warmup; i < rounds; i++) {
                    // Interleave the three measurements so drift on a busy machine hits all of them alike.
                    long t0 = System.nanoTime();
                    long catBytes = 0;
                    for (LsEntry f : files) {
                        catBytes += drain(client.catStream(f.cid(), Duration.ofSeconds(30)));
                    }
                    long t1 = System.nanoTime();
                    long carBytes = drain(client.dagExport(cid, Duration.ofSeconds(30)));
                    long t2 = System.nanoTime();
                    Path dir = work.resolve("cache-cold-" + i);
                    try (AdapterCache cache = AdapterCache.builder().directory(dir).maxMemoryBytes(0).fetcher(fetcher).build()) {
                        FetchedContent c = cache.get(cid);
                        if (c.fromCache() || c.bytes() != totalBytes) {
                            throw new IllegalStateException("cold fetch expected: " + c);
                        }
                    }
                    long t3 = System.nanoTime();
                    Path dir2 = work.resolve("cache-cold-nosync-" + i);
                    try (AdapterCache cache = AdapterCache.builder().directory(dir2).maxMemoryBytes(0).fetcher(noSync).build()) {
                        cache.get(cid);
                    }
                    long t4 = System.nanoTime();
                    deleteTree(dir2);
                    Path dir3 = work.resolve("verify-only-" + i);
                    long t5 = System.nanoTime();
                    VerifiedFetcher.verifyCar(new java.io.ByteArrayInputStream(carImage), cid, dir3, FetchLimits.defaults());
                    long t6 = System.nanoTime();
                    deleteTree(dir3);
                    if (catBytes != totalBytes || carBytes < totalBytes) {
                        throw new IllegalStateException("byte counts: cat " + catBytes + ", car " + carBytes);
                    }
                    deleteTree(dir);
                    if (i >= 0) {
                        cat[i] = t1 - t0;
                        export[i] = t2 - t1;
                        cold[i] = t3 - t2;
                        coldNoSync[i] = t4 - t3;
                        verifyOnly[i] = t6 - t5;
                    }
                }
                double mib = totalBytes / (double) (1 << 20);
                double catMs = median(cat) / 1e6;
                double exportMs = median(export) / 1e6;
                double coldMs = median(cold) / 1e6;
                double noSyncMs = median(coldNoSync) / 1e6;
                double verifyMs = median(verifyOnly) / 1e6;
                System.out.printf("rounds: %d (after %d warm-up), medians:%n", rounds, warmup);
                System.out.printf("  node cat (plain bytes)            : %8.1f ms  %7.1f MiB/s%n", catMs, mib / (catMs / 1000));
                System.out.printf("  node dag/export (CAR, discarded)  : %8.1f ms  %7.1f MiB/s%n", exportMs, mib / (exportMs / 1000));
                System.out.printf("  cold get: fetch+verify+write+move : %8.1f ms  %7.1f MiB/s%n", coldMs, mib / (coldMs / 1000));
                System.out.printf("  same, syncWrites(false) (no fsync)  : %8.1f ms  %7.1f MiB/s%n", noSyncMs, mib / (noSyncMs / 1000));
                // Per-round ratios: each round's three measurements ran back to back under the same machine load.
                double[] vsCat = new double[rounds];
                double[] vsExport = new double[rounds];
                for (int i = 0; i < rounds; i++) {
                    vsCat[i] = (double) cold[i] / cat[i];
                    vsExport[i] = (double) cold[i] / export[i];
                }
                System.out.printf("  median of per-round ratios: cold get / cat = %.2f, cold get / dag-export = %.2f%n",
                        medianOf(vsCat), medianOf(vsExport));
                System.out.printf("  verify+write only (CAR from memory)   : %8.1f ms  %7.1f MiB/s = %.1f %% of the cat time%n",
                        verifyMs, mib / (verifyMs / 1000), 100 * verifyMs / catMs);
                System.out.printf("  verified cold get vs plain cat        : %+6.1f %% (target < 20 %%; no fsync: %+.1f %%)%n",
                        100 * (coldMs / catMs - 1), 100 * (noSyncMs / catMs - 1));
                System.out.printf("  verified cold get vs raw CAR transfer : %+6.1f %% (no fsync: %+.1f %%)%n",
                        100 * (coldMs / exportMs - 1), 100 * (noSyncMs / exportMs - 1));

                Path warmDir = work.resolve("cache-warm");
                try (AdapterCache cache = AdapterCache.builder().directory(warmDir).maxMemoryBytes(64L << 20).fetcher(fetcher).build()) {
                    cache.get(cid);
                    report("warm get, memory tier", latencies(cache, cid, 2000));
                }
                try (AdapterCache cache = AdapterCache.builder().directory(warmDir).maxMemoryBytes(0).fetcher(fetcher).build()) {
                    report("warm get, disk tier (after restart)", latencies(cache, cid, 2000));
                    long t = System.nanoTime();
                    FetchedContent c = cache.get(cid);
                    byte[] all = Files.readAllBytes(c.path().resolve("adapter_model.safetensors"));
                    System.out.printf("  warm get + read %d MiB safetensors from disk: %.2f ms%n", all.length >> 20,
                            (System.nanoTime() - t) / 1e6);
                }
            }
        } finally {
            deleteTree(work);
        }
    }

    private static long[] latencies(AdapterCache cache, Cid cid, int n) {
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            long t = System.nanoTime();
            FetchedContent c = cache.get(cid);
            out[i] = System.nanoTime() - t;
            if (!c.fromCache()) {
                throw new IllegalStateException("expected a cache hit");
            }
        }
        return out;
    }

    private static void report(String what, long[] nanos) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        System.out.printf("  %-38s: p50 %7.1f us  p99 %7.1f us  max %7.1f us (target < 5 ms)%n", what,
                s[s.length / 2] / 1e3, s[(int) (s.length * 0.99)] / 1e3, s[s.length - 1] / 1e3);
    }

    private static long drain(InputStream in) throws IOException {
        try (in) {
            return in.transferTo(OutputStream.nullOutputStream());
        }
    }

    private static double medianOf(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2.0;
    }

    private static double median(long[] v) {
        long[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2.0;
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
