package dev.loracle.oracle.chain;

import com.sun.net.httpserver.HttpServer;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A JSON-RPC proxy in front of a real node that refuses eth_getLogs over more than {@code maxRange} blocks, the way
 * hosted RPC providers do (error -32005), and forwards everything else unchanged.
 */
final class RangeLimitingProxy implements AutoCloseable {
    private final HttpServer server;
    private final HttpClient http = HttpClient.newHttpClient();
    private final JsonMapper json = JsonMapper.builder().build();
    final AtomicInteger refused = new AtomicInteger();

    RangeLimitingProxy(String upstream, long maxRange) throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            byte[] body = exchange.getRequestBody().readAllBytes();
            JsonNode call = json.readTree(body);
            byte[] answer;
            if ("eth_getLogs".equals(call.path("method").asString())) {
                JsonNode filter = call.path("params").get(0);
                long from = Long.decode(filter.path("fromBlock").asString());
                long to = Long.decode(filter.path("toBlock").asString());
                if (to - from + 1 > maxRange) {
                    refused.incrementAndGet();
                    answer = ("{\"jsonrpc\":\"2.0\",\"id\":" + call.path("id") + ",\"error\":{\"code\":-32005,"
                            + "\"message\":\"block range too large, max " + maxRange + "\"}}").getBytes(StandardCharsets.UTF_8);
                    reply(exchange, answer);
                    return;
                }
            }
            try {
                answer = http.send(HttpRequest.newBuilder(URI.create(upstream)).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofByteArray()).body();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
            reply(exchange, answer);
        });
        server.start();
    }

    private static void reply(com.sun.net.httpserver.HttpExchange exchange, byte[] answer) throws IOException {
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, answer.length);
        exchange.getResponseBody().write(answer);
        exchange.close();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
