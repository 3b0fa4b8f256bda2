package dev.loracle.oracle.session.snapshot;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/** An RPC relay in front of a real IPFS node that flips one byte of every block it serves: an in-flight attacker. */
final class TamperingIpfsProxy implements AutoCloseable {
    private final HttpServer server;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    TamperingIpfsProxy(URI node) throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            try (InputStream in = exchange.getRequestBody()) {
                HttpRequest.Builder forward = HttpRequest.newBuilder(node.resolve(exchange.getRequestURI().toString()))
                        .POST(HttpRequest.BodyPublishers.ofByteArray(in.readAllBytes()));
                String type = exchange.getRequestHeaders().getFirst("Content-Type");
                if (type != null) forward.header("Content-Type", type);
                HttpResponse<byte[]> answer = http.send(forward.build(), HttpResponse.BodyHandlers.ofByteArray());
                byte[] body = answer.body();
                if (exchange.getRequestURI().getPath().endsWith("/block/get") && answer.statusCode() == 200 && body.length > 0) {
                    body[body.length - 1] ^= 0x40;
                }
                exchange.sendResponseHeaders(answer.statusCode(), body.length == 0 ? -1 : body.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                exchange.sendResponseHeaders(502, -1);
            }
        });
        server.start();
    }

    URI url() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
