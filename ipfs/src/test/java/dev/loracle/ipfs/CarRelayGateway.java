package dev.loracle.ipfs;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A trustless-gateway front ({@code GET /ipfs/{cid}?format=car}) for a real node that lacks one (js-ipfs): each
 * request relays the node's own {@code dag/export} CAR. It can delay the response (to make concurrent requests
 * overlap) or flip one byte near the end (an in-flight tampering attacker), and counts requests.
 */
final class CarRelayGateway implements AutoCloseable {
    private final HttpServer server;
    private final KuboRpcClient node;
    private final AtomicInteger requests = new AtomicInteger();
    private volatile Duration delay = Duration.ZERO;
    private volatile int tamperFromEnd = -1;

    CarRelayGateway(KuboRpcClient node) throws IOException {
        this.node = node;
        this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/ipfs/", exchange -> {
            requests.incrementAndGet();
            try (exchange) {
                String path = exchange.getRequestURI().getPath();
                Cid cid = Cid.parse(path.substring("/ipfs/".length()));
                Thread.sleep(delay.toMillis());
                byte[] car = TestData.readAll(node.dagExport(cid, Duration.ofSeconds(5)));
                if (tamperFromEnd >= 0 && car.length > tamperFromEnd) {
                    car[car.length - 1 - tamperFromEnd] ^= 0x40;
                }
                exchange.getResponseHeaders().set("Content-Type", "application/vnd.ipld.car; version=1");
                exchange.sendResponseHeaders(200, car.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(car);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (RuntimeException e) {
                exchange.sendResponseHeaders(502, -1);
            }
        });
        server.start();
    }

    URI url() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    CarRelayGateway delay(Duration value) {
        this.delay = value;
        return this;
    }

    /** Flips a bit in the byte {@code n} positions before the end of every CAR served (negative: off). */
    CarRelayGateway tamperFromEnd(int n) {
        this.tamperFromEnd = n;
        return this;
    }

    int requests() {
        return requests.get();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
