package dev.loracle.oracle.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loracle.contracts.devchain.DevChainDeployer;
import dev.loracle.ipfs.Cid;
import dev.loracle.oracle.TestDatabases;
import dev.loracle.oracle.devstack.ExampleAdapters;
import dev.loracle.oracle.journal.PromptFormat;
import dev.loracle.oracle.journal.RequestJournal;
import dev.loracle.runtime.lora.PeftAdapter;
import dev.loracle.runtime.lora.ProjectionKind;
import dev.loracle.runtime.model.GgufFile;
import dev.loracle.runtime.model.GgufLlamaModel;
import dev.loracle.runtime.model.MappedFile;
import java.lang.foreign.Arena;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code POST /v1/chat/completions} on a node (API only, no chain) serving the Llama 3 fixture with its real chat
 * template, an adapter for its shape fetched from IPFS: blocking and streamed answers agree (greedy), the request is
 * journaled as CHAT messages, and a wrong model name is a 404.
 */
class ChatCompletionsIT {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    @Test
    void chatWithTheModelsTemplate(@TempDir Path tmp) throws Exception {
        LocalStack stack = LocalStack.get();
        Path model = DevChainDeployer.modelsDir().resolve("arch/llama3-tiny.gguf");
        try (Arena arena = Arena.ofConfined()) {
            var shape = GgufLlamaModel.weights(GgufFile.parse(MappedFile.map(model, arena))).config().shape();
            PeftAdapter.randomForShape(shape, 4, 4f, EnumSet.of(ProjectionKind.Q, ProjectionKind.V), 11).write(tmp.resolve("style"));
        }
        Cid cid = ExampleAdapters.publishDirectory(tmp.resolve("style"), stack.ipfs.client());
        try (TestDatabases.Db db = TestDatabases.create(TestDatabases.Kind.H2)) {
            Map<String, Object> p = OracleNode.properties(stack, null, db, tmp.resolve("cache"));
            p.put("loracle.model.path", model.toString());
            p.put("loracle.model.tokenizer-path", "");
            p.put("loracle.model.name", "llama3-tiny");
            String body = """
                    {"model":"%s","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],
                     "max_tokens":6,"temperature":0,"adapters":[{"cid":"%s","weight":0.5}]%s}""";
            try (OracleNode node = OracleNode.start(p); HttpClient http = HttpClient.newHttpClient()) {
                URI url = URI.create("http://127.0.0.1:" + node.port() + "/v1/chat/completions");
                java.util.function.Function<String, HttpRequest> post = json -> HttpRequest.newBuilder(url)
                        .header("Content-Type", "application/json").header("Authorization", "Bearer " + OracleNode.API_KEY)
                        .POST(HttpRequest.BodyPublishers.ofString(json)).build();

                var wrongModel = http.send(post.apply(body.formatted("stories260K", cid, "")), HttpResponse.BodyHandlers.ofString());
                assertThat(wrongModel.statusCode()).isEqualTo(404);

                var blocking = http.send(post.apply(body.formatted("llama3-tiny", cid, "")), HttpResponse.BodyHandlers.ofString());
                assertThat(blocking.statusCode()).as(blocking.body()).isEqualTo(200);
                JsonNode answer = JSON.readTree(blocking.body());
                assertThat(answer.path("object").asString()).isEqualTo("chat.completion");
                JsonNode message = answer.path("choices").get(0).path("message");
                assertThat(message.path("role").asString()).isEqualTo("assistant");
                String content = message.path("content").asString();
                assertThat(answer.path("usage").path("completion_tokens").asInt()).isBetween(1, 6);
                var entry = node.bean(RequestJournal.class).find(answer.path("id").asString()).orElseThrow();
                assertThat(entry.spec().promptFormat()).isEqualTo(PromptFormat.CHAT);

                var streamed = http.send(post.apply(body.formatted("llama3-tiny", cid, ",\"stream\":true")), HttpResponse.BodyHandlers.ofLines());
                assertThat(streamed.statusCode()).isEqualTo(200);
                List<String> events = streamed.body().filter(l -> l.startsWith("data:")).map(l -> l.substring(5).strip()).toList();
                assertThat(events.getLast()).isEqualTo("[DONE]");
                StringBuilder text = new StringBuilder();
                for (String e : events.subList(0, events.size() - 1)) {
                    JsonNode chunk = JSON.readTree(e);
                    assertThat(chunk.path("object").asString()).isEqualTo("chat.completion.chunk");
                    text.append(chunk.path("choices").get(0).path("delta").path("content").asString(""));
                }
                assertThat(text.toString()).isEqualTo(content);
            }
        }
    }
}
