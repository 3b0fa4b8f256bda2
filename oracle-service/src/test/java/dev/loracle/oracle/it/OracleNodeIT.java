package dev.loracle.oracle.it;

import dev.loracle.contracts.FailureCode;
import dev.loracle.contracts.generated.InferenceCoordinator;
import dev.loracle.ipfs.Cid;
import dev.loracle.oracle.TestDatabases;
import dev.loracle.oracle.journal.InferenceSpec;
import dev.loracle.oracle.journal.JournalEntry;
import dev.loracle.oracle.journal.RequestState;
import dev.loracle.oracle.journal.TxJournal;
import dev.loracle.oracle.journal.TxRecord;
import dev.loracle.oracle.runtime.RuntimeService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.web3j.protocol.core.DefaultBlockParameterNumber;
import org.web3j.protocol.core.methods.request.EthFilter;
import org.web3j.protocol.core.methods.response.EthLog;
import org.web3j.protocol.core.methods.response.Log;

import java.math.BigInteger;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * End to end on real parts: Anvil (automine) with the deployed coordinator and StoryTeller, a real IPFS node, the
 * stories260K model, and the node itself (Spring Boot) on a journal. Subclasses pick the journal database.
 */
abstract class OracleNodeIT {
    static LocalStack stack;
    static LocalStack.Chain chain;
    TestDatabases.Db db;

    @TempDir
    Path cacheDir;

    abstract TestDatabases.Kind database();

    @BeforeAll
    static void startChain() throws Exception {
        stack = LocalStack.get();
        chain = new LocalStack.Chain(null, stack);
    }

    @AfterAll
    static void stopChain() {
        if (chain != null) chain.close();
    }

    OracleNode startNode() {
        db = TestDatabases.create(database());
        return OracleNode.start(OracleNode.properties(stack, chain, db, cacheDir));
    }

    @org.junit.jupiter.api.AfterEach
    void dropDb() {
        if (db != null) db.close();
    }

    static List<Log> coordinatorLogs(String topicSignature, BigInteger requestId) throws Exception {
        return coordinatorLogs(chain, topicSignature, requestId);
    }

    static List<Log> coordinatorLogs(LocalStack.Chain chain, String topicSignature, BigInteger requestId) throws Exception {
        EthFilter f = new EthFilter(new DefaultBlockParameterNumber(chain.deployment.deployBlock()),
                org.web3j.protocol.core.DefaultBlockParameterName.LATEST, chain.deployment.coordinator());
        f.addSingleTopic(org.web3j.abi.EventEncoder.encode(switch (topicSignature) {
            case "fulfilled" -> InferenceCoordinator.INFERENCEFULFILLED_EVENT;
            case "failed" -> InferenceCoordinator.INFERENCEFAILED_EVENT;
            default -> throw new IllegalArgumentException(topicSignature);
        }));
        f.addSingleTopic(org.web3j.utils.Numeric.toHexStringWithPrefixZeroPadded(requestId, 64));
        return chain.anvil.web3j().ethGetLogs(f).send().getLogs().stream().map(r -> (Log) ((EthLog.LogObject) r)).toList();
    }

    @Test
    void storyWithTwoAdaptersIsFulfilledExactlyAsTheRuntimeWritesItThenUnloaded() throws Exception {
        List<Cid> cids = stack.adapterCids().subList(0, 2);
        List<Integer> weights = List.of(7_000, -3_000);
        String prompt = "Once upon a time";
        try (OracleNode node = startNode()) {
            BigInteger requestId = chain.tellStory(cids, weights, prompt, 24, 42);
            JournalEntry done = node.awaitState(InferenceSpec.chainId(requestId), Set.of(RequestState.UNLOADED, RequestState.FAILED), Duration.ofSeconds(60));
            assertThat(done.state()).as(done.reason()).isEqualTo(RequestState.UNLOADED);

            String expected = stack.generateDirectly(cids, weights, prompt, 24, 8_000, 9_000, 42);
            var story = chain.storyTeller.stories(requestId).send();
            assertThat(story.component2()).as("StoryTeller status Told").isEqualTo(BigInteger.TWO);
            assertThat(story.component5()).isEqualTo(expected).isEqualTo(done.output()).isNotBlank();
            assertThat(chain.coordinator.isPending(requestId).send()).isFalse();
            assertThat(coordinatorLogs("fulfilled", requestId)).hasSize(1);

            // the adapters are gone from the runtime and its memory is back at the base figure
            RuntimeService.Status runtime = node.bean(RuntimeService.class).status();
            assertThat(runtime.residentAdapters()).isZero();
            assertThat(runtime.residentAdapterCids()).isEmpty();
            assertThat(runtime.usedBytes()).isEqualTo(runtime.baseBytes());

            var t = done.timings();
            assertThat(t.submittedAt()).isNotNull();
            assertThat(t.confirmedAt()).isGreaterThanOrEqualTo(t.submittedAt());
            assertThat(t.unloadedAt()).isGreaterThanOrEqualTo(t.confirmedAt());
            List<TxRecord> txs = node.bean(TxJournal.class).forRequest(done.id());
            assertThat(txs).singleElement().satisfies(tx -> {
                assertThat(tx.status()).isEqualTo(TxRecord.TxStatus.CONFIRMED);
                assertThat(tx.kind()).isEqualTo(TxRecord.TxKind.FULFIL);
                assertThat(tx.gasUsed()).isPositive();
            });
        }
    }

    @Test
    void completionsApiServesGreedyTextBlockingAndStreamingWithApiKeys() throws Exception {
        List<Cid> cids = stack.adapterCids().subList(0, 2);
        String expected = stack.generateDirectly(cids, List.of(5_000, 3_000), "Once upon a time", 20, 0, 10_000, 0);
        String body = """
                {"model":"stories260K","prompt":"Once upon a time","max_tokens":20,"temperature":0,"top_p":1,
                 "adapters":[{"cid":"%s","weight":0.5},{"cid":"%s","weight":0.3}]%s}""";
        try (OracleNode node = startNode(); var http = java.net.http.HttpClient.newHttpClient()) {
            java.net.URI url = java.net.URI.create("http://127.0.0.1:" + node.port() + "/v1/completions");
            java.util.function.BiFunction<String, String, java.net.http.HttpRequest> post = (json, key) -> {
                var b = java.net.http.HttpRequest.newBuilder(url).header("Content-Type", "application/json")
                        .POST(java.net.http.HttpRequest.BodyPublishers.ofString(json));
                if (key != null) b.header("Authorization", "Bearer " + key);
                return b.build();
            };
            var json = tools.jackson.databind.json.JsonMapper.builder().build();

            var unauthorized = http.send(post.apply(body.formatted(cids.get(0), cids.get(1), ""), "wrong"), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(unauthorized.statusCode()).isEqualTo(401);

            var badCid = http.send(post.apply(body.formatted("not-a-cid", cids.get(1), ""), OracleNode.API_KEY), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(badCid.statusCode()).isEqualTo(400);
            assertThat(badCid.body()).contains("adapters[0].cid");

            var blocking = http.send(post.apply(body.formatted(cids.get(0), cids.get(1), ""), OracleNode.API_KEY), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(blocking.statusCode()).as(blocking.body()).isEqualTo(200);
            var answer = json.readTree(blocking.body());
            assertThat(answer.path("object").asString()).isEqualTo("text_completion");
            assertThat(answer.path("choices").get(0).path("text").asString()).isEqualTo(expected);
            String completionId = answer.path("id").asString();

            // an API completion's prompt and output are shown only to callers with a key (on-chain requests to anyone)
            java.net.URI completionView = java.net.URI.create("http://127.0.0.1:" + node.port() + "/api/requests/" + completionId);
            var anonymous = http.send(java.net.http.HttpRequest.newBuilder(completionView).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(anonymous.statusCode()).isEqualTo(404);
            assertThat(anonymous.body()).doesNotContain(expected);
            var listed = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + node.port()
                    + "/api/requests")).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(listed.body()).doesNotContain(completionId);
            var withKey = http.send(java.net.http.HttpRequest.newBuilder(completionView).header("X-Api-Key", OracleNode.API_KEY).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(withKey.statusCode()).isEqualTo(200);
            assertThat(withKey.body()).contains(completionId);

            var streamed = http.send(post.apply(body.formatted(cids.get(0), cids.get(1), ",\"stream\":true"), OracleNode.API_KEY), java.net.http.HttpResponse.BodyHandlers.ofLines());
            assertThat(streamed.statusCode()).isEqualTo(200);
            StringBuilder text = new StringBuilder();
            List<String> events = streamed.body().filter(l -> l.startsWith("data:")).map(l -> l.substring(5).strip()).toList();
            assertThat(events.getLast()).isEqualTo("[DONE]");
            for (String e : events.subList(0, events.size() - 1)) text.append(json.readTree(e).path("choices").get(0).path("text").asString());
            assertThat(events.size()).isGreaterThan(3);
            assertThat(text.toString()).isEqualTo(expected);

            // delivered -> adapters released: the journal shows UNLOADED and the runtime is back at its base memory
            node.awaitState(completionId, Set.of(RequestState.UNLOADED), Duration.ofSeconds(10));
            long end = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (node.bean(RuntimeService.class).status().residentAdapters() != 0 && System.nanoTime() < end) Thread.sleep(20);
            RuntimeService.Status runtime = node.bean(RuntimeService.class).status();
            assertThat(runtime.usedBytes()).isEqualTo(runtime.baseBytes());

            var view = http.send(java.net.http.HttpRequest.newBuilder(completionView).header("X-Api-Key", OracleNode.API_KEY).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(json.readTree(view.body()).path("state").asString()).isEqualTo("UNLOADED");
            var admin = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + node.port() + "/api/admin/drain"))
                    .POST(java.net.http.HttpRequest.BodyPublishers.noBody()).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(admin.statusCode()).as("admin endpoints need an admin key").isEqualTo(401);
            var drained = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + node.port() + "/api/admin/drain"))
                    .header("X-Api-Key", OracleNode.ADMIN_KEY).POST(java.net.http.HttpRequest.BodyPublishers.noBody()).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(drained.statusCode()).isEqualTo(200);
            var refused = http.send(post.apply(body.formatted(cids.get(0), cids.get(1), ""), OracleNode.API_KEY), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(refused.statusCode()).as("draining node refuses new work").isEqualTo(503);

            var prometheus = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + node.port() + "/actuator/prometheus")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(prometheus.body()).contains("loracle_requests{", "loracle_queue_depth", "loracle_generation_tokens_per_second",
                    "loracle_runtime_memory_used_bytes", "loracle_adapter_cache_hits", "loracle_stage_latency");
            var health = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + node.port() + "/actuator/health")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            var components = json.readTree(health.body()).path("components");
            for (String c : List.of("chain", "ipfs", "runtime", "journal")) {
                assertThat(components.path(c).path("status").asString()).as(c + " in " + health.body()).isEqualTo("UP");
            }
        }
    }

    @Test
    void adapterThatIsNotAnAdapterAndMissingCidAreReportedWithRefund() throws Exception {
        Cid good = stack.adapterCids().get(2);
        try (OracleNode node = startNode()) {
            BigInteger credit0 = chain.coordinator.credits(chain.deployment.storyTeller()).send();
            BigInteger invalid = chain.tellStory(List.of(good, stack.notAnAdapter), List.of(10_000, 10_000), "A cat", 8, 1);
            BigInteger missing = chain.tellStory(List.of(stack.missing), List.of(10_000), "A dog", 8, 2);

            JournalEntry e1 = node.awaitState(InferenceSpec.chainId(invalid), Set.of(RequestState.FAILED, RequestState.UNLOADED), Duration.ofSeconds(60));
            JournalEntry e2 = node.awaitState(InferenceSpec.chainId(missing), Set.of(RequestState.FAILED, RequestState.UNLOADED), Duration.ofSeconds(60));
            assertThat(e1.state()).isEqualTo(RequestState.FAILED);
            assertThat(e1.failureCode()).isEqualTo(FailureCode.ADAPTER_INVALID.code());
            assertThat(e1.reason()).contains(stack.notAnAdapter.toString());
            assertThat(e2.state()).isEqualTo(RequestState.FAILED);
            assertThat(e2.failureCode()).isEqualTo(FailureCode.ADAPTER_NOT_FOUND.code());

            for (BigInteger id : List.of(invalid, missing)) {
                long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                while (coordinatorLogs("failed", id).isEmpty() && System.nanoTime() < end) Thread.sleep(100);
                assertThat(coordinatorLogs("failed", id)).as("InferenceFailed for " + id).hasSize(1);
                assertThat(chain.storyTeller.stories(id).send().component2()).as("StoryTeller status Failed").isEqualTo(BigInteger.valueOf(3));
            }
            var failed = InferenceCoordinator.getInferenceFailedEventFromLog(coordinatorLogs("failed", missing).getFirst());
            assertThat(failed.code).isEqualTo(BigInteger.valueOf(FailureCode.ADAPTER_NOT_FOUND.code()));
            BigInteger fee1 = chain.storyTeller.quoteStory(chain.modelId(), BigInteger.TWO, BigInteger.valueOf(8)).send();
            BigInteger fee2 = chain.storyTeller.quoteStory(chain.modelId(), BigInteger.ONE, BigInteger.valueOf(8)).send();
            // refunds are credited to the consumer contract (pull payment); StoryTeller's claimRefund moves them on
            assertThat(chain.coordinator.credits(chain.deployment.storyTeller()).send().subtract(credit0)).isEqualTo(fee1.add(fee2));
            // the reportFailure txs are confirmed and recorded
            long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (!node.bean(dev.loracle.oracle.journal.RequestJournal.class).unreportedFailures(10).isEmpty() && System.nanoTime() < end) Thread.sleep(50);
            assertThat(node.bean(dev.loracle.oracle.journal.RequestJournal.class).unreportedFailures(10)).isEmpty();
        }
    }
}
