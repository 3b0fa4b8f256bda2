package dev.loracle.it;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.loracle.ipfs.Cid;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An HTTP proxy in front of a real IPFS node's RPC API that forwards every call unchanged, except that responses
 * about CIDs marked {@link #tamper(Cid) tampered} get one byte flipped near their end (inside the last block's data,
 * so the CAR framing stays valid and only the content no longer matches its hash): a man in the middle or a lying
 * node. A verifying client must reject that content.
 */
final class TamperingIpfsProxy implements AutoCloseable {
    private final URI upstream;
    private final HttpServer server;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final Set<String> tampered = ConcurrentHashMap.newKeySet();
    private final AtomicInteger tamperedResponses = new AtomicInteger();

    TamperingIpfsProxy(URI upstream) {
        this.upstream = upstream;
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        server.createContext("/", this::forward);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** From now on, responses naming {@code cid} (any text form) are corrupted. */
    void tamper(Cid cid) {
        tampered.add(cid.toString());
        tampered.add(cid.toBase32());
        tampered.add(cid.toBase58btc());
        if (cid.version() == 1 && cid.codec() == Cid.Codec.DAG_PB) {
            tampered.add(cid.toV0().toString());
        }
    }

    /** How many responses were corrupted so far. */
    int tamperedResponses() {
        return tamperedResponses.get();
    }

    private void forward(HttpExchange exchange) throws IOException {
        try (exchange) {
            URI target = URI.create(upstream + exchange.getRequestURI().toString());
            byte[] body;
            try (InputStream in = exchange.getRequestBody()) {
                body = in.readAllBytes();
            }
            HttpRequest.Builder request = HttpRequest.newBuilder(target).timeout(Duration.ofSeconds(120))
                    .method(exchange.getRequestMethod(), HttpRequest.BodyPublishers.ofByteArray(body));
            String contentType = exchange.getRequestHeaders().getFirst("Content-Type");
            if (contentType != null) {
                request.header("Content-Type", contentType);
            }
            HttpResponse<byte[]> response;
            try {
                response = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
            } catch (IOException e) {
                exchange.sendResponseHeaders(502, -1);
                return;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                exchange.sendResponseHeaders(502, -1);
                return;
            }
            byte[] out = response.body();
            if (response.statusCode() == 200 && namesTamperedCid(exchange.getRequestURI()) && out.length > 8) {
                out = out.clone();
                out[out.length - 5] ^= 0x5A;
                tamperedResponses.incrementAndGet();
            }
            response.headers().firstValue("Content-Type")
                    .ifPresent(v -> exchange.getResponseHeaders().add("Content-Type", v));
            exchange.sendResponseHeaders(response.statusCode(), out.length == 0 ? -1 : out.length);
            if (out.length > 0) {
                try (OutputStream os = exchange.getResponseBody()) {
                    os.write(out);
                }
            }
        }
    }

    private boolean namesTamperedCid(URI uri) {
        String query = uri.getRawQuery();
        if (query == null) {
            return false;
        }
        for (String pair : query.split("&")) {
            int eq = pair.indexOf('=');
            if (eq > 0 && pair.substring(0, eq).equals("arg")) {
                String value = URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
                String cidText = value.startsWith("/ipfs/") ? value.substring(6) : value;
                int slash = cidText.indexOf('/');
                if (tampered.contains(slash < 0 ? cidText : cidText.substring(0, slash))) {
                    return true;
                }
            }
        }
        return false;
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
