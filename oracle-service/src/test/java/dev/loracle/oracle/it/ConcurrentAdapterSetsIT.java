package dev.loracle.oracle.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loracle.ipfs.Cid;
import dev.loracle.oracle.TestDatabases;
import dev.loracle.oracle.journal.RequestState;
import dev.loracle.oracle.runtime.RuntimeService;
import dev.loracle.runtime.engine.InferenceEngine;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Many requests with different adapter sets on one node at once: they generate together in the engine's continuous
 * batch (far fewer engine steps than tokens), each answer equals the solo generation of its inputs, and once all are
 * delivered the runtime is back at its base memory with no adapter resident.
 */
class ConcurrentAdapterSetsIT {
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final int REQUESTS = 24;
    private static final int MAX_TOKENS = 24;

    @Test
    void mixedAdapterSetsGenerateTogetherAndEachEqualsItsSoloRun(@TempDir Path tmp) throws Exception {
        LocalStack stack = LocalStack.get();
        List<Cid> pool = new ArrayList<>(stack.adapterCids());
        pool.addAll(stack.publishMore(4, 7_000));
        List<List<Cid>> sets = new ArrayList<>();
        List<List<Integer>> weights = new ArrayList<>();
        for (int i = 0; i < REQUESTS; i++) { // 1..3 adapters; distinct weights make every set distinct
            List<Cid> set = new ArrayList<>();
            List<Integer> w = new ArrayList<>();
            for (int k = 0; k <= i % 3; k++) {
                set.add(pool.get((i + 3 * k) % pool.size()));
                w.add(k == 0 ? 2_000 + 250 * i : -3_000);
            }
            sets.add(set);
            weights.add(w);
        }
        try (TestDatabases.Db db = TestDatabases.create(TestDatabases.Kind.H2)) {
            Map<String, Object> p = OracleNode.properties(stack, null, db, tmp.resolve("cache"));
            try (OracleNode node = OracleNode.start(p); HttpClient http = HttpClient.newHttpClient()) {
                URI url = URI.create("http://127.0.0.1:" + node.port() + "/v1/completions");
                InferenceEngine engine = node.bean(RuntimeService.class).engine();
                long stepsBefore = engine.steps();
                List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
                for (int i = 0; i < REQUESTS; i++) {
                    StringBuilder adapters = new StringBuilder();
                    for (int k = 0; k < sets.get(i).size(); k++) {
                        if (k > 0) adapters.append(',');
                        adapters.append("{\"cid\":\"%s\",\"weight\":%s}".formatted(sets.get(i).get(k), weights.get(i).get(k) / 10_000.0));
                    }
                    String body = """
                            {"model":"stories260K","prompt":"Once upon a time","max_tokens":%d,"temperature":0.8,"top_p":0.9,
                             "seed":%d,"adapters":[%s]}""".formatted(MAX_TOKENS, 100 + i, adapters);
                    answers.add(http.sendAsync(HttpRequest.newBuilder(url).header("Content-Type", "application/json")
                            .header("Authorization", "Bearer " + OracleNode.API_KEY).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                            HttpResponse.BodyHandlers.ofString()));
                }
                long tokens = 0;
                List<String> ids = new ArrayList<>();
                for (int i = 0; i < REQUESTS; i++) {
                    HttpResponse<String> r = answers.get(i).join();
                    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                    JsonNode answer = JSON.readTree(r.body());
                    ids.add(answer.path("id").asString());
                    tokens += answer.path("usage").path("completion_tokens").asInt();
                    String solo = stack.generateDirectly(sets.get(i), weights.get(i), "Once upon a time", MAX_TOKENS, 8_000, 9_000, 100 + i);
                    assertThat(answer.path("choices").get(0).path("text").asString()).as("request %d equals its solo generation", i)
                            .isEqualTo(solo).isNotBlank();
                }
                long steps = engine.steps() - stepsBefore;
                assertThat(steps).as("%d tokens in %d engine steps: requests with different adapter sets shared steps", tokens, steps)
                        .isLessThan(tokens / 2);

                for (String id : ids) node.awaitState(id, Set.of(RequestState.UNLOADED), Duration.ofSeconds(10));
                RuntimeService.Status runtime = node.bean(RuntimeService.class).status();
                assertThat(runtime.residentAdapters()).isZero();
                assertThat(runtime.residentUsers()).isZero();
                assertThat(runtime.usedBytes()).as("memory back to the base figure").isEqualTo(runtime.baseBytes());
            }
        }
    }
}
