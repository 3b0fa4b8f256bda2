import dev.loracle.contracts.devchain.DevAccounts;
import dev.loracle.ipfs.KuboRpcClient;
import dev.loracle.oracle.devstack.ExampleAdapters;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.web3j.utils.Numeric;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * deploy/smoke's client side, run with the oracle image's own class path (java source launcher):
 * <pre>
 *   publish DEPLOYMENT_JSON IPFS_API ORACLE_URL WORK_DIR OUT   the demo's two example adapters to the stack's IPFS node;
 *                                                              OUT = endpoints JSON for contracts/scripts/request-story.mjs
 *   verify ORACLE_URL PROMETHEUS_URL REQUEST_ID TIMEOUT_S      the request reached UNLOADED, memory is back to base,
 *                                                              Prometheus scraped the node and saw the request
 * </pre>
 * Exits 1 with the reason when a check fails.
 */
public final class StackClient {
    private static final ObjectMapper JSON = JsonMapper.builder().build();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    /** Anvil dev account #2: the dApp user in the demo (public key material, worthless off a dev chain). */
    private static final int USER_ACCOUNT = 2;

    public static void main(String[] args) throws Exception {
        try {
            switch (args.length > 0 ? args[0] : "") {
                case "publish" -> publish(args);
                case "verify" -> verify(args);
                default -> throw new IllegalArgumentException("usage: StackClient publish|verify ...");
            }
        } catch (IllegalStateException | IllegalArgumentException e) {
            System.err.println("smoke: " + e.getMessage());
            System.exit(1);
        }
    }

    private static void publish(String[] args) throws Exception {
        if (args.length != 6) throw new IllegalArgumentException("usage: publish DEPLOYMENT_JSON IPFS_API ORACLE_URL WORK_DIR OUT");
        JsonNode deployment = JSON.readTree(Files.readString(Path.of(args[1])));
        List<ExampleAdapters.Published> adapters =
                ExampleAdapters.createAndPublish(Path.of(args[4]), KuboRpcClient.create(args[2]));
        ObjectNode out = JSON.createObjectNode();
        for (String key : List.of("rpcUrl", "wsUrl", "chainId", "coordinator", "storyTeller", "modelId")) {
            out.set(key, deployment.get(key));
        }
        out.put("ipfsApi", args[2]);
        out.put("oracleRest", args[3]);
        var user = DevAccounts.get(USER_ACCOUNT);
        out.put("userAccount", user.getAddress());
        out.put("userPrivateKey", Numeric.toHexStringWithPrefixZeroPadded(user.getEcKeyPair().getPrivateKey(), 64));
        var list = out.putArray("adapters");
        for (ExampleAdapters.Published a : adapters) {
            list.addObject().put("name", a.name()).put("cid", a.cid().toString())
                    .put("cidBytes", Numeric.toHexString(a.cidBytes())).put("weight", a.weight());
            System.out.println("published adapter " + a.name() + " = " + a.cid());
        }
        Files.writeString(Path.of(args[5]), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(out) + "\n");
    }

    private static void verify(String[] args) throws Exception {
        if (args.length != 5) throw new IllegalArgumentException("usage: verify ORACLE_URL PROMETHEUS_URL REQUEST_ID TIMEOUT_S");
        String oracle = args[1], prometheus = args[2], requestId = args[3];
        long deadline = System.nanoTime() + Duration.ofSeconds(Long.parseLong(args[4])).toNanos();

        JsonNode request = poll("journal state UNLOADED for request " + requestId, deadline,
                () -> get(oracle + "/api/requests/" + requestId), r -> "UNLOADED".equals(r.path("state").asString()));
        System.out.println("journal: request " + requestId + " " + request.path("state").asString());

        JsonNode runtime = poll("runtime memory back to base", deadline, () -> get(oracle + "/api/runtime"),
                r -> r.path("usedBytes").asLong() == r.path("baseBytes").asLong() && r.path("adaptersResident").isEmpty());
        System.out.println("runtime: usedBytes " + runtime.path("usedBytes").asLong() + " = baseBytes "
                + runtime.path("baseBytes").asLong() + ", adapters resident " + runtime.path("adaptersResident"));

        poll("Prometheus target loracle-oracle up", deadline,
                () -> promValue(prometheus, "up{job=\"loracle-oracle\"}"), v -> v >= 1);
        double ingested = poll("Prometheus sees the request (loracle_requests_ingested_total >= 1)", deadline,
                () -> promValue(prometheus, "sum(loracle_requests_ingested_total{job=\"loracle-oracle\"})"), v -> v >= 1);
        System.out.println("prometheus: target up, loracle_requests_ingested_total = " + ingested);
    }

    private static double promValue(String prometheus, String query) throws Exception {
        JsonNode body = get(prometheus + "/api/v1/query?query=" + URLEncoder.encode(query, StandardCharsets.UTF_8));
        JsonNode result = body == null ? null : body.path("data").path("result");
        if (result == null || result.isEmpty()) return Double.NaN;
        return Double.parseDouble(result.get(0).path("value").get(1).asString());
    }

    /** GET url as JSON; null on a non-200 answer or no answer (the caller polls). */
    private static JsonNode get(String url) {
        try {
            HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create(url))
                    .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
            return response.statusCode() == 200 ? JSON.readTree(response.body()) : null;
        } catch (java.io.IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    interface Source<T> { T get() throws Exception; }

    interface Check<T> { boolean ok(T value); }

    private static <T> T poll(String what, long deadline, Source<T> source, Check<T> check) throws Exception {
        T last = null;
        while (true) {
            T value = source.get();
            if (value != null && check.ok(value)) return value;
            if (value != null) last = value;
            if (System.nanoTime() > deadline) throw new IllegalStateException("timed out waiting for " + what + "; last seen: " + last);
            Thread.sleep(500);
        }
    }
}
