package dev.loracle.it;

import dev.loracle.oracle.devstack.DevStack;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A loopback TCP proxy in front of a local service (Anvil's HTTP+WebSocket port). {@link #stop()} closes the
 * listening socket and cuts every open connection, as a crashed or partitioned RPC provider would; {@link #start()}
 * listens again on the same port.
 */
final class TcpProxy implements AutoCloseable {
    private final int upstreamPort;
    private final int port;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final AtomicLong connections = new AtomicLong();
    private volatile ServerSocket server;

    TcpProxy(int upstreamPort) {
        this.upstreamPort = upstreamPort;
        this.port = DevStack.freePort();
        start();
    }

    int port() {
        return port;
    }

    String httpUrl() {
        return "http://127.0.0.1:" + port;
    }

    String wsUrl() {
        return "ws://127.0.0.1:" + port;
    }

    /** Connections accepted so far. */
    long connections() {
        return connections.get();
    }

    boolean isUp() {
        return server != null && !server.isClosed();
    }

    synchronized void start() {
        if (isUp()) {
            return;
        }
        try {
            ServerSocket s = new ServerSocket();
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            server = s;
        } catch (IOException e) {
            throw new UncheckedIOException("proxy cannot listen on " + port, e);
        }
        Thread.ofVirtual().name("proxy-accept-" + port).start(this::acceptLoop);
    }

    /** Refuses new connections and cuts open ones. */
    synchronized void stop() {
        ServerSocket s = server;
        server = null;
        if (s != null) {
            closeQuietly(s);
        }
        sockets.forEach(TcpProxy::closeQuietly);
        sockets.clear();
    }

    @Override
    public void close() {
        stop();
    }

    private void acceptLoop() {
        ServerSocket s = server;
        while (s != null && !s.isClosed()) {
            try {
                Socket client = s.accept();
                connections.incrementAndGet();
                Socket upstream;
                try {
                    upstream = new Socket(InetAddress.getLoopbackAddress(), upstreamPort);
                } catch (IOException e) {
                    closeQuietly(client);
                    continue;
                }
                sockets.add(client);
                sockets.add(upstream);
                Thread.ofVirtual().start(() -> pump(client, upstream));
                Thread.ofVirtual().start(() -> pump(upstream, client));
            } catch (IOException e) {
                return; // listener closed by stop()
            }
        }
    }

    private void pump(Socket from, Socket to) {
        byte[] buffer = new byte[16 * 1024];
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                out.write(buffer, 0, n);
                out.flush();
            }
        } catch (SocketException closed) {
            // one side went away (or stop() cut it)
        } catch (IOException e) {
            // same
        } finally {
            closeQuietly(from);
            closeQuietly(to);
            sockets.remove(from);
            sockets.remove(to);
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // closing anyway
        }
    }
}
