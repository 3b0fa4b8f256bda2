package dev.loracle.oracle.it;

import dev.loracle.contracts.generated.StoryTeller;
import dev.loracle.ipfs.Cid;
import dev.loracle.oracle.TestDatabases;
import dev.loracle.oracle.journal.InferenceSpec;
import dev.loracle.oracle.journal.JournalEntry;
import dev.loracle.oracle.journal.RequestJournal;
import dev.loracle.oracle.journal.RequestState;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.web3j.abi.FunctionEncoder;
import org.web3j.abi.datatypes.DynamicArray;
import org.web3j.abi.datatypes.Function;
import org.web3j.abi.datatypes.Utf8String;
import org.web3j.abi.datatypes.generated.Bytes32;
import org.web3j.abi.datatypes.generated.Uint32;
import org.web3j.abi.datatypes.generated.Uint64;
import org.web3j.crypto.RawTransaction;
import org.web3j.crypto.TransactionEncoder;
import org.web3j.protocol.core.DefaultBlockParameterName;
import org.web3j.utils.Numeric;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Benchmark (a runnable, not a test): {@code mvn -f oracle-service/pom.xml test-compile exec:exec}.
 * <ol>
 *   <li>Oracle overhead per request on Anvil automine with warm adapters: event journaled -> fulfil tx sent, minus
 *       generation time (the node's {@code loracle.oracle.overhead} timer), p50 / p99 over sequential requests.</li>
 *   <li>Sustained throughput: {@code bench.throughput.requests} (256) StoryTeller requests over {@code bench.sets} (128)
 *       distinct adapter sets of 1-4 adapters, {@code bench.maxTokens} (64) tokens each, sent as fast as the consumer can
 *       sign them, until all are UNLOADED; nothing may be lost (all fulfilled on-chain exactly once), end-to-end latency
 *       p50/p99 (event seen -> confirmed), runtime memory back to base at the end. The earlier load shape is
 *       {@code -Dbench.throughput.requests=200 -Dbench.sets=20 -Dbench.maxTokens=16 -Dbench.maxAdapters=2}.</li>
 * </ol>
 */
public final class OracleBenchmark {
    private static final int MAX_TOKENS = 16;
    private static final int THROUGHPUT_TOKENS = Integer.getInteger("bench.maxTokens", 64);

    public static void main(String[] args) throws Exception {
        int overheadRequests = Integer.getInteger("bench.overhead.requests", 60);
        int throughputRequests = Integer.getInteger("bench.throughput.requests", 256);
        int sets = Integer.getInteger("bench.sets", 128);
        int maxAdapters = Integer.getInteger("bench.maxAdapters", 4);
        LocalStack stack = LocalStack.get();
        List<Cid> pool = new ArrayList<>(stack.adapterCids());
        pool.addAll(stack.publishMore(Math.max(0, Math.min(16, sets / 2 + 1) - pool.size()), 5000));
        // the reference first: one generation at a time (max-active-sequences 1), then the continuous batch, same load
        Rate serial = run("one generation at a time (reference)", 1, stack, pool, overheadRequests, throughputRequests, sets, maxAdapters);
        Rate batched = run("continuous batch", 0, stack, pool, overheadRequests, throughputRequests, sets, maxAdapters);
        System.out.printf("%n=== continuous batch / one at a time: %.2fx requests/s (same load, same session) ===%n",
                batched.perSecond() / serial.perSecond());
        // on a shared machine each phase gets another share of the cores; requests per CPU-second of this process and its
        // children (Anvil, IPFS) do not depend on that share
        System.out.printf("=== continuous batch / one at a time: %.2fx requests per CPU-second (node, bench client, Anvil, IPFS) ===%n",
                batched.perCpuSecond() / serial.perCpuSecond());
        System.exit(0);
    }

    /** One node on a fresh chain: the overhead part, then the throughput part; returns requests/s. */
    /** Sustained requests per second of wall time, and per CPU-second spent by this process and its children. */
    private record Rate(double perSecond, double perCpuSecond) {
    }

    private static Rate run(String label, int maxActive, LocalStack stack, List<Cid> pool, int overheadRequests,
                              int throughputRequests, int sets, int maxAdapters) throws Exception {
        String attachMode = System.getProperty("bench.attachMode", "");
        java.util.function.UnaryOperator<dev.loracle.contracts.devchain.DevChainDeployer.Config> profile = attachMode.isBlank() ? c -> c
                : c -> c.withProfile(new dev.loracle.contracts.NumericProfile(c.profile().quant(), attachMode, c.profile().kv()));
        try (LocalStack.Chain chain = new LocalStack.Chain(null, stack, profile); TestDatabases.Db db = TestDatabases.create(TestDatabases.Kind.H2)) {
            Path cache = Files.createTempDirectory("loracle-bench-cache");
            Map<String, Object> props = OracleNode.properties(stack, chain, db, cache);
            props.put("logging.level.dev.loracle", "WARN");
            props.put("loracle.scheduler.max-active-sequences", String.valueOf(maxActive));
            if (!attachMode.isBlank()) props.put("loracle.model.attach-mode", attachMode);
            try (OracleNode node = OracleNode.start(props)) {
                RequestJournal journal = node.bean(RequestJournal.class);
                Timer overhead = node.bean(MeterRegistry.class).get("loracle.oracle.overhead").timer();

                // --- 1. overhead, warm adapters, one request at a time
                List<Cid> warmSet = pool.subList(0, 2);
                for (int i = 0; i < 5; i++) awaitDone(journal, chain.tellStory(warmSet, List.of(5_000, 5_000), "Once upon a time", MAX_TOKENS, i));
                var pipeline = node.bean(dev.loracle.oracle.pipeline.RequestPipeline.class);
                pipeline.drainOverheadSamples(); // drop the warm-up (first attach, JIT)
                List<Long> genMs = new ArrayList<>();
                List<Long> submittedMs = new ArrayList<>();
                for (int i = 0; i < overheadRequests; i++) {
                    JournalEntry e = awaitDone(journal, chain.tellStory(warmSet, List.of(5_000, 5_000), "Once upon a time", MAX_TOKENS, 100 + i));
                    genMs.add(e.generationNanos() / 1_000_000);
                    submittedMs.add(e.timings().submittedAt() - e.timings().seenAt() - e.generationNanos() / 1_000_000);
                }
                List<Long> samples = pipeline.drainOverheadSamples().stream().map(ns -> ns / 1_000).toList(); // us
                System.out.printf("%n=== [%s] oracle overhead (event journaled -> fulfil tx sent, minus generation), %d sequential requests, warm adapters, Anvil automine ===%n",
                        label, samples.size());
                System.out.printf("  p50 = %.1f ms, p99 = %.1f ms, max = %.1f ms (generation p50 = %d ms, %d tokens)%n",
                        pct(samples, 50) / 1000.0, pct(samples, 99) / 1000.0, pct(samples, 100) / 1000.0, pct(genMs, 50), MAX_TOKENS);
                System.out.printf("  of which event -> SUBMITTED journaled (fetch from cache, attach, checks): p50 = %d ms, p99 = %d ms%n",
                        pct(submittedMs, 50), pct(submittedMs, 99));
                System.out.printf("  node timer loracle.oracle.overhead (incl. warm-up): count %d, p50 %.1f ms%n", overhead.count(),
                        overhead.takeSnapshot().percentileValues()[0].value(TimeUnit.MILLISECONDS));

                // --- 2. throughput: 200 requests over 20 adapter sets, sent back to back
                List<List<Cid>> adapterSets = new ArrayList<>();
                List<List<Integer>> weightSets = new ArrayList<>();
                for (int s = 0; s < sets; s++) { // 1..maxAdapters adapters; distinct weights make every set distinct
                    int n = maxAdapters == 2 ? 2 : 1 + s % maxAdapters;
                    List<Cid> set = new ArrayList<>();
                    List<Integer> weights = new ArrayList<>();
                    for (int k = 0; k < n; k++) {
                        set.add(pool.get((s + k * 5) % pool.size()));
                        weights.add(k == 0 ? 2_000 + 10 * s : 3_000);
                    }
                    adapterSets.add(set);
                    weightSets.add(weights);
                }
                Map<String, Double> rpcBefore = rpcCalls(node);
                CpuShares cpuBefore = CpuShares.now();
                List<String> ids = sendBatch(chain, adapterSets, weightSets, throughputRequests);
                long t0 = System.nanoTime();
                long firstSeen = Long.MAX_VALUE, lastUnloaded = 0;
                int unloaded = 0;
                List<Long> endToEndMs = new ArrayList<>();
                List<Long> toFetch = new ArrayList<>(), toRun = new ArrayList<>(), toSubmit = new ArrayList<>(), toConfirm = new ArrayList<>();
                for (String id : ids) {
                    JournalEntry e = OracleNode.awaitState(journal, id, Set.of(RequestState.UNLOADED, RequestState.FAILED,
                            RequestState.CANCELLED, RequestState.EXPIRED), Duration.ofMinutes(10));
                    if (e.state() == RequestState.UNLOADED) unloaded++;
                    var t = e.timings();
                    if (t.confirmedAt() != null) endToEndMs.add(t.confirmedAt() - t.seenAt());
                    if (t.fetchStartedAt() != null && t.runStartedAt() != null && t.submittedAt() != null && t.confirmedAt() != null) {
                        toFetch.add(t.fetchStartedAt() - t.seenAt());
                        toRun.add(t.runStartedAt() - t.fetchStartedAt());
                        toSubmit.add(t.submittedAt() - t.runStartedAt());
                        toConfirm.add(t.confirmedAt() - t.submittedAt());
                    }
                    firstSeen = Math.min(firstSeen, e.timings().seenAt());
                    lastUnloaded = Math.max(lastUnloaded, e.timings().unloadedAt() == null ? 0 : e.timings().unloadedAt());
                }
                CpuShares cpuAfter = CpuShares.now();
                String cpu = cpuAfter.since(cpuBefore, ids.size());
                Map<String, Double> rpcAfter = rpcCalls(node);
                long pendingLeft = 0;
                for (String id : ids) if (chain.coordinator.isPending(new BigInteger(id.substring(2), 16)).send()) pendingLeft++;
                double seconds = (lastUnloaded - firstSeen) / 1000.0;
                System.out.printf("%n=== [%s] sustained throughput: %d requests over %d adapter sets (1-%d adapters, %d tokens) ===%n",
                        label, ids.size(), sets, maxAdapters, THROUGHPUT_TOKENS);
                System.out.printf("  UNLOADED %d / %d, still pending on-chain %d, wall %.2f s (first event seen -> last unloaded), %.1f requests/s%n",
                        unloaded, ids.size(), pendingLeft, seconds, ids.size() / seconds);
                System.out.printf("  (waited %.1f s after the last request was sent)%n", (System.nanoTime() - t0) / 1e9);
                System.out.print(cpu);
                StringBuilder rpc = new StringBuilder("  node JSON-RPC calls per request:");
                rpcAfter.entrySet().stream().sorted(Map.Entry.<String, Double>comparingByValue().reversed()).forEach(m -> {
                    double calls = (m.getValue() - rpcBefore.getOrDefault(m.getKey(), 0.0)) / ids.size();
                    if (calls >= 0.005) rpc.append(String.format(" %s %.2f", m.getKey(), calls));
                });
                System.out.println(rpc);
                System.out.printf("  end-to-end (event seen -> fulfilment confirmed): p50 = %d ms, p99 = %d ms%n",
                        pct(endToEndMs, 50), pct(endToEndMs, 99));
                System.out.printf("  stages p50/p99 ms: seen->fetch %d/%d, fetch->running %d/%d, running->submitted %d/%d, submitted->confirmed %d/%d%n",
                        pct(toFetch, 50), pct(toFetch, 99), pct(toRun, 50), pct(toRun, 99), pct(toSubmit, 50), pct(toSubmit, 99),
                        pct(toConfirm, 50), pct(toConfirm, 99));
                long sentFulfils = (long) node.bean(MeterRegistry.class).counter("loracle.fulfil.sent").count();
                var runtime = node.bean(dev.loracle.oracle.runtime.RuntimeService.class);
                long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
                while (runtime.status().usedBytes() != runtime.status().baseBytes() && System.nanoTime() < end) Thread.sleep(50);
                System.out.printf("  fulfil txs sent %d for %d requests (duplicates %d); runtime memory %d bytes, base %d%n",
                        sentFulfils, ids.size(), Math.max(0, sentFulfils - (overheadRequests + 5) - ids.size()),
                        runtime.status().usedBytes(), runtime.status().baseBytes());
                double uploads = node.bean(MeterRegistry.class).find("loracle.adapter.loads").counters().stream()
                        .mapToDouble(io.micrometer.core.instrument.Counter::count).sum();
                System.out.printf("  adapter uploads %.0f (distinct CIDs in the pool %d)%n", uploads, pool.size());
                return new Rate(ids.size() / seconds, 1000.0 / cpuAfter.ourCpuMsPerRequest(cpuBefore, ids.size()));
            }
        }
    }

    /** The node's JSON-RPC calls so far by method ({@code loracle.rpc.requests}). */
    private static Map<String, Double> rpcCalls(OracleNode node) {
        Map<String, Double> calls = new java.util.TreeMap<>();
        for (var c : node.bean(MeterRegistry.class).find("loracle.rpc.requests").counters()) {
            calls.merge(c.getId().getTag("method"), c.count(), Double::sum);
        }
        return calls;
    }

    private static JournalEntry awaitDone(RequestJournal journal, BigInteger requestId) throws InterruptedException {
        JournalEntry e = OracleNode.awaitState(journal, InferenceSpec.chainId(requestId),
                Set.of(RequestState.UNLOADED, RequestState.FAILED), Duration.ofSeconds(60));
        if (e.state() != RequestState.UNLOADED) throw new IllegalStateException("request failed: " + e.reason());
        return e;
    }

    /** Signs all tellStory txs with consecutive nonces and sends them without waiting for receipts. */
    private static List<String> sendBatch(LocalStack.Chain chain, List<List<Cid>> sets, List<List<Integer>> weights, int count) throws Exception {
        var web3 = chain.anvil.web3j();
        var consumer = LocalStack.CONSUMER;
        long nonce = web3.ethGetTransactionCount(consumer.getAddress(), DefaultBlockParameterName.PENDING).send().getTransactionCount().longValueExact();
        List<String> hashes = new ArrayList<>();
        Map<Integer, BigInteger> fees = new java.util.HashMap<>();
        for (int i = 0; i < count; i++) {
            int s = i % sets.size();
            int n = sets.get(s).size();
            if (!fees.containsKey(n)) {
                fees.put(n, chain.storyTeller.quoteStory(chain.modelId(), BigInteger.valueOf(n), BigInteger.valueOf(THROUGHPUT_TOKENS)).send());
            }
            BigInteger fee = fees.get(n);
            List<StoryTeller.Adapter> styles = new ArrayList<>();
            for (int k = 0; k < sets.get(s).size(); k++) {
                styles.add(new StoryTeller.Adapter(sets.get(s).get(k).toBytes(), BigInteger.valueOf(weights.get(s).get(k))));
            }
            String data = FunctionEncoder.encode(new Function("tellStory", Arrays.asList(new Bytes32(chain.modelId()),
                    new DynamicArray<>(StoryTeller.Adapter.class, styles), new Utf8String("Once upon a time"),
                    new Uint32(THROUGHPUT_TOKENS), new Uint64(BigInteger.valueOf(10_000 + i))), List.of()));
            RawTransaction tx = RawTransaction.createTransaction(chain.anvil.chainId(), BigInteger.valueOf(nonce + i),
                    BigInteger.valueOf(1_500_000), chain.deployment.storyTeller(), fee, data,
                    BigInteger.valueOf(1_000_000_000L), BigInteger.valueOf(50_000_000_000L));
            String raw = Numeric.toHexString(TransactionEncoder.signMessage(tx, consumer));
            var sent = web3.ethSendRawTransaction(raw).send();
            if (sent.hasError()) throw new IllegalStateException("send " + i + ": " + sent.getError().getMessage());
            hashes.add(sent.getTransactionHash());
        }
        List<String> ids = new ArrayList<>();
        for (String h : hashes) {
            var r = web3.ethGetTransactionReceipt(h).send().getTransactionReceipt();
            for (int i = 0; i < 200 && r.isEmpty(); i++) {
                Thread.sleep(20);
                r = web3.ethGetTransactionReceipt(h).send().getTransactionReceipt();
            }
            var events = dev.loracle.contracts.generated.InferenceCoordinator.getInferenceRequestedEvents(r.orElseThrow());
            ids.add(InferenceSpec.chainId(events.getFirst().requestId));
        }
        return ids;
    }

    private static long pct(List<Long> values, int p) {
        List<Long> sorted = values.stream().sorted().toList();
        int index = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
    }
}
