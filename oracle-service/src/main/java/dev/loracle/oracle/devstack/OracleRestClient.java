package dev.loracle.oracle.devstack;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Reads a node's REST API: {@code GET /api/requests/{id}} (state, timings, output, tx hashes) and
 * {@code GET /api/runtime} (backend, base and adapter memory vs the red line). Used by the demo and the tests.
 */
public final class OracleRestClient {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final String baseUrl;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    public OracleRestClient(String baseUrl) {
        this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
    }

    /** The journal entry of an on-chain request ({@code requestId} as 0x-hex), empty when the node has none. */
    public Optional<JsonNode> request(String requestIdHex) {
        return get("/api/requests/" + requestIdHex);
    }

    /**
     * The journal entry of an on-chain request, asking with the id as 0x-hex (64 digits) and then as decimal, whichever
     * the node's API accepts; empty when it has none.
     */
    public Optional<JsonNode> request(java.math.BigInteger requestId) {
        String hex = "0x" + String.format("%64s", requestId.toString(16)).replace(' ', '0');
        for (String id : java.util.List.of(hex, requestId.toString())) {
            try {
                Optional<JsonNode> entry = request(id);
                if (entry.isPresent()) {
                    return entry;
                }
            } catch (IllegalStateException e) {
                // e.g. 400 for the form it does not parse: try the other one
            }
        }
        return Optional.empty();
    }

    /** The {@code state} field of a request's journal entry, if the node has one. */
    public Optional<String> state(java.math.BigInteger requestId) {
        return request(requestId).map(e -> field(e, "state")).map(JsonNode::asString);
    }

    /** Journal entries in {@code state} (null: all), as the node lists them. */
    public JsonNode requests(String state) {
        return get("/api/requests" + (state == null ? "" : "?state=" + state))
                .orElseThrow(() -> new IllegalStateException("GET /api/requests answered 404"));
    }

    /** Runtime figures: backend, memory in use, base, red line, resident adapters. */
    public JsonNode runtime() {
        return get("/api/runtime").orElseThrow(() -> new IllegalStateException("GET /api/runtime answered 404"));
    }

    /** Health as reported by Actuator ({@code status} plus components). */
    public JsonNode health() {
        return get("/actuator/health").orElseThrow(() -> new IllegalStateException("no /actuator/health"));
    }

    /**
     * The sum of every sample of a Prometheus series on {@code /actuator/prometheus} (e.g.
     * {@code loracle_generations_total}), over all label sets; 0 when the node has none yet.
     */
    public double prometheus(String series) {
        HttpRequest request = HttpRequest.newBuilder(URI.create(baseUrl + "/actuator/prometheus"))
                .timeout(Duration.ofSeconds(5)).GET().build();
        try {
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new IllegalStateException("GET /actuator/prometheus answered HTTP " + response.statusCode());
            }
            double sum = 0;
            for (String line : response.body().split("\n")) {
                if (line.startsWith(series + " ") || line.startsWith(series + "{")) {
                    sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                }
            }
            return sum;
        } catch (IOException e) {
            throw new IllegalStateException("GET " + baseUrl + "/actuator/prometheus failed: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private Optional<JsonNode> get(String path) {
        HttpRequest request = HttpRequest.newBuilder(URI.create(baseUrl + path))
                .timeout(Duration.ofSeconds(5))
                .header("Accept", "application/json")
                .header("X-Api-Key", OracleSettings.DEV_ADMIN_KEY)
                .GET().build();
        try {
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() == 404) {
                return Optional.empty();
            }
            // Actuator health answers 503 with a body when a component is down; that body is still the answer.
            if (response.statusCode() != 200 && !(path.startsWith("/actuator/health") && response.statusCode() == 503)) {
                throw new IllegalStateException("GET " + path + " answered HTTP " + response.statusCode() + ": "
                        + abbreviate(response.body()));
            }
            return Optional.of(JSON.readTree(response.body()));
        } catch (IOException e) {
            throw new IllegalStateException("GET " + baseUrl + path + " failed: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** A field by any of its likely names (the API is young; tolerate camelCase variants), or null. */
    public static JsonNode field(JsonNode node, String... names) {
        if (node == null) {
            return null;
        }
        for (String name : names) {
            JsonNode value = node.get(name);
            if (value != null && !value.isNull()) {
                return value;
            }
        }
        return null;
    }

    /** The runtime part of {@code GET /api/runtime} ({@code runtime} object: backend, baseBytes, usedBytes, ...). */
    public static JsonNode runtimeStatus(JsonNode runtimeView) {
        JsonNode inner = field(runtimeView, "runtime");
        return inner != null && inner.isObject() ? inner : runtimeView;
    }

    /** Bytes the runtime has in use according to {@code GET /api/runtime}, or -1 when unknown. */
    public static long usedBytes(JsonNode runtimeView) {
        JsonNode used = field(runtimeStatus(runtimeView), "usedBytes");
        return used != null && used.isNumber() ? used.asLong() : -1;
    }

    /** One line: used vs base and red line, resident adapters. */
    public static String memoryLine(JsonNode runtimeView) {
        if (runtimeView == null) {
            return "(unavailable)";
        }
        JsonNode status = runtimeStatus(runtimeView);
        long used = usedBytes(runtimeView);
        if (used < 0) {
            return runtimeView.toString();
        }
        JsonNode base = field(status, "baseBytes");
        JsonNode redLine = field(status, "redLineBytes");
        JsonNode resident = field(status, "adaptersResident", "residentAdapterCids");
        long redLineBytes = redLine == null ? -1 : redLine.asLong();
        return String.format(java.util.Locale.ROOT, "used %s (base %s, red line %s), adapters resident: %d",
                kib(used), base == null ? "?" : kib(base.asLong()),
                redLineBytes <= 0 || redLineBytes > (1L << 60) ? "none" : kib(redLineBytes),
                resident != null && resident.isArray() ? resident.size() : 0);
    }

    private static String kib(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f KiB", bytes / 1024.0);
    }

    /** Flattens a JSON object of numbers into a map (e.g. the stage timings). */
    public static Map<String, Long> numbers(JsonNode object) {
        Map<String, Long> out = new java.util.LinkedHashMap<>();
        if (object != null && object.isObject()) {
            for (Map.Entry<String, JsonNode> e : object.properties()) {
                if (e.getValue().isNumber()) {
                    out.put(e.getKey(), e.getValue().asLong());
                }
            }
        }
        return out;
    }

    private static String abbreviate(String text) {
        return text.length() <= 300 ? text : text.substring(0, 300) + "...";
    }
}
