package dev.loracle.ipfs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real IPFS node on free loopback ports with a fresh repository, for tests, the dev stack and the demo.
 *
 * <p>Kubo ({@code ipfs} on PATH) is preferred; otherwise js-ipfs from
 * {@code <loracle.root>/deploy/dev-stack/node_modules/.bin/jsipfs}. System property {@code loracle.ipfs.bin} or env
 * {@code IPFS_BIN} name a binary explicitly (a name ending in {@code jsipfs} is treated as js-ipfs). The node is
 * offline, binds loopback only and has no bootstrap peers or discovery, so it never touches the network.
 * The repository lives in a temporary directory deleted by {@link #close()}.
 */
public final class IpfsNodeProcess implements AutoCloseable {
    public enum Kind { KUBO, JS_IPFS }

    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

    private final Path binary;
    private final Kind kind;
    private final Path workDir;
    private final Path repo;
    private final Path log;
    private final int apiPort;
    private final int gatewayPort;
    private Process process;
    /** Kills the node if the JVM exits without {@link #close()} (a crashed or killed test run leaves no orphan). */
    private final Thread exitHook = new Thread(this::killQuietly, "ipfs-node-exit-hook");

    private IpfsNodeProcess(Path binary, Kind kind, Path workDir, int apiPort, int gatewayPort) {
        this.binary = binary;
        this.kind = kind;
        this.workDir = workDir;
        this.repo = workDir.resolve("repo");
        this.log = workDir.resolve("node.log");
        this.apiPort = apiPort;
        this.gatewayPort = gatewayPort;
    }

    /**
     * Starts a node and waits until its RPC API answers. A port taken between choosing it and the node binding it
     * (another process starting at the same moment) is retried with fresh ports.
     */
    public static IpfsNodeProcess start() {
        IllegalStateException last = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            try {
                return startOnce();
            } catch (IllegalStateException e) {
                String m = String.valueOf(e.getMessage()).toLowerCase(java.util.Locale.ROOT);
                if (!m.contains("eaddrinuse") && !m.contains("address already in use")) {
                    throw e;
                }
                last = e;
            }
        }
        throw last;
    }

    private static IpfsNodeProcess startOnce() {
        Path binary = locateBinary();
        Kind kind = binary.getFileName().toString().contains("jsipfs") ? Kind.JS_IPFS : Kind.KUBO;
        Path workDir;
        try {
            workDir = Files.createTempDirectory("loracle-ipfs-node-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a temporary IPFS_PATH", e);
        }
        IpfsNodeProcess node = new IpfsNodeProcess(binary, kind, workDir, freePort(), freePort());
        try {
            node.init();
            node.launch();
            return node;
        } catch (RuntimeException e) {
            node.close();
            throw e;
        }
    }

    /** The binary {@link #start()} would use; throws with the places searched if none is found. */
    public static Path locateBinary() {
        String explicit = System.getProperty("loracle.ipfs.bin", System.getenv("IPFS_BIN"));
        if (explicit != null && !explicit.isBlank()) {
            Path p = Path.of(explicit);
            if (!Files.isExecutable(p)) {
                throw new IllegalStateException("IPFS binary from loracle.ipfs.bin/IPFS_BIN is not executable: " + p);
            }
            return p;
        }
        String path = System.getenv("PATH");
        if (path != null) {
            for (String dir : path.split(java.io.File.pathSeparator)) {
                Path candidate = Path.of(dir, "ipfs");
                if (Files.isExecutable(candidate) && !Files.isDirectory(candidate)) {
                    return candidate;
                }
            }
        }
        Path root = repoRoot();
        Path js = root.resolve("deploy/dev-stack/node_modules/.bin/jsipfs");
        if (Files.isExecutable(js)) {
            return js;
        }
        throw new IllegalStateException("no IPFS node binary: Kubo 'ipfs' is not on PATH and js-ipfs is missing at " + js
                + " (run 'npm ci' in " + root.resolve("deploy/dev-stack") + ", or set loracle.ipfs.bin / IPFS_BIN)");
    }

    /** {@code loracle.root} property, else env {@code LORACLE_ROOT}, else the nearest parent with deploy/dev-stack. */
    static Path repoRoot() {
        String prop = System.getProperty("loracle.root", System.getenv("LORACLE_ROOT"));
        if (prop != null && !prop.isBlank()) {
            return Path.of(prop).toAbsolutePath().normalize();
        }
        Path dir = Path.of("").toAbsolutePath();
        for (Path p = dir; p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("deploy/dev-stack"))) {
                return p;
            }
        }
        return dir;
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free loopback port", e);
        }
    }

    private void init() {
        try {
            Files.createDirectories(repo);
            if (kind == Kind.KUBO) {
                runTool(List.of(binary.toString(), "init", "--profile=test", "--empty-repo"));
                for (String[] kv : List.of(
                        new String[]{"Addresses.API", "\"/ip4/127.0.0.1/tcp/" + apiPort + "\""},
                        new String[]{"Addresses.Gateway", "\"/ip4/127.0.0.1/tcp/" + gatewayPort + "\""},
                        new String[]{"Addresses.Swarm", "[\"/ip4/127.0.0.1/tcp/0\"]"},
                        new String[]{"Bootstrap", "[]"},
                        new String[]{"Discovery.MDNS.Enabled", "false"},
                        new String[]{"Swarm.DisableNatPortMap", "true"})) {
                    runTool(List.of(binary.toString(), "config", "--json", kv[0], kv[1]));
                }
            } else {
                Files.writeString(workDir.resolve("init-config.json"), """
                        {"Addresses":{"API":"/ip4/127.0.0.1/tcp/%d","Gateway":"/ip4/127.0.0.1/tcp/%d","RPC":"",\
                        "Swarm":["/ip4/127.0.0.1/tcp/0"],"Delegates":[]},"Bootstrap":[],\
                        "Discovery":{"MDNS":{"Enabled":false},"webRTCStar":{"Enabled":false}},\
                        "Swarm":{"DisableNatPortMap":true}}""".formatted(apiPort, gatewayPort));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare IPFS repo " + repo, e);
        }
    }

    private void runTool(List<String> command) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().put("IPFS_PATH", repo.toString());
        Process p = pb.start();
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IllegalStateException("'" + String.join(" ", command) + "' failed; log:\n" + logTail());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IllegalStateException("interrupted running " + command.get(1), e);
        }
    }

    private void launch() {
        List<String> command = new ArrayList<>();
        command.add(binary.toString());
        command.add("daemon");
        command.add("--offline");
        if (kind == Kind.JS_IPFS) {
            // js-ipfs initialises the repo on first start from this config (binds loopback only, no discovery).
            command.add("--enable-preload=false");
            command.add("--init-profile=test");
            command.add("--init-config=" + workDir.resolve("init-config.json"));
        }
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        // Never start without IPFS_PATH: js-ipfs would otherwise use ~/.jsipfs with full networking.
        pb.environment().put("IPFS_PATH", repo.toString());
        try {
            process = pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + binary, e);
        }
        try {
            Runtime.getRuntime().addShutdownHook(exitHook);
        } catch (IllegalArgumentException alreadyRegistered) {
            // restart(): the hook from the first start is still registered
        }
        awaitReady();
    }

    private void awaitReady() {
        KuboRpcClient client = new KuboRpcClient(apiUrl(), Duration.ofSeconds(2));
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        IpfsException last = null;
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("IPFS node exited with code " + process.exitValue()
                        + " during startup; log " + log + ":\n" + logTail());
            }
            try {
                client.version();
                return;
            } catch (IpfsException e) {
                last = e;
            }
            sleep(100);
        }
        kill();
        throw new IllegalStateException("IPFS node did not answer on " + apiUrl() + " within " + START_TIMEOUT.toSeconds()
                + " s (last error: " + (last == null ? "none" : last.getMessage()) + "); log:\n" + logTail());
    }

    public Kind kind() {
        return kind;
    }

    /** The RPC API base URL, e.g. {@code http://127.0.0.1:39145}. */
    public URI apiUrl() {
        return URI.create("http://127.0.0.1:" + apiPort);
    }

    /** The (path) gateway base URL; Kubo also serves trustless CAR responses there, js-ipfs does not. */
    public URI gatewayUrl() {
        return URI.create("http://127.0.0.1:" + gatewayPort);
    }

    public KuboRpcClient client() {
        return new KuboRpcClient(apiUrl(), Duration.ofSeconds(30));
    }

    public Path repoPath() {
        return repo;
    }

    public boolean isRunning() {
        return process != null && process.isAlive();
    }

    /** Stops the node gracefully (SIGTERM), forcibly after 10 s. The repository is kept until {@link #close()}. */
    public void stop() {
        if (process == null) {
            return;
        }
        process.descendants().forEach(ProcessHandle::destroy);
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                kill();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            kill();
        }
        process = null;
    }

    /** Kills the node at once (SIGKILL), as a crash would; {@link #restart()} clears the stale lock it leaves. */
    public void kill() {
        if (process == null) {
            return;
        }
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        process = null;
    }

    /** Starts the node again on the same ports and repository (content added before is still there). */
    public void restart() {
        stop();
        clearStaleLock();
        launch();
    }

    /** A killed node leaves {@code repo.lock} and {@code api} behind; the next start refuses to run with them. */
    private void clearStaleLock() {
        try {
            // Kubo's repo.lock is a file, js-ipfs's a directory (proper-lockfile); both block the next start.
            deleteTree(repo.resolve("repo.lock"));
            Files.deleteIfExists(repo.resolve("api"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot clear stale lock in " + repo, e);
        }
    }

    private void killQuietly() {
        Process p = process;
        if (p != null) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        try {
            deleteTree(workDir);
        } catch (IOException | RuntimeException ignored) {
            // JVM exit: best effort
        }
    }

    /** Kills the node and deletes its repository (a graceful stop would only delay deleting it). */
    @Override
    public void close() {
        try {
            Runtime.getRuntime().removeShutdownHook(exitHook);
        } catch (IllegalStateException | IllegalArgumentException ignored) {
            // JVM already exiting, or the node never launched
        }
        kill();
        try {
            deleteTree(workDir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + workDir, e);
        }
    }

    /** The last 4 KiB of the node's output, for error messages. */
    public String logTail() {
        try {
            if (!Files.exists(log)) {
                return "(no output)";
            }
            byte[] bytes = Files.readAllBytes(log);
            int from = Math.max(0, bytes.length - 4096);
            return new String(bytes, from, bytes.length - from, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(log unreadable: " + e + ")";
        }
    }

    /**
     * Deletes {@code dir}. The node's own exit cleanup may still be removing files (lock, api file) or a last flush may
     * add one, so entries that vanish under the walk are skipped and a directory that is not empty yet is tried again.
     */
    private static void deleteTree(Path dir) throws IOException {
        for (int attempt = 1; Files.exists(dir); attempt++) {
            try {
                Files.walkFileTree(dir, new java.nio.file.SimpleFileVisitor<>() {
                    @Override
                    public java.nio.file.FileVisitResult visitFile(Path file, java.nio.file.attribute.BasicFileAttributes a)
                            throws IOException {
                        Files.deleteIfExists(file);
                        return java.nio.file.FileVisitResult.CONTINUE;
                    }

                    @Override
                    public java.nio.file.FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                        if (e instanceof java.nio.file.NoSuchFileException) return java.nio.file.FileVisitResult.CONTINUE;
                        throw e;
                    }

                    @Override
                    public java.nio.file.FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                        if (e != null && !(e instanceof java.nio.file.NoSuchFileException)) throw e;
                        Files.deleteIfExists(d);
                        return java.nio.file.FileVisitResult.CONTINUE;
                    }
                });
            } catch (java.nio.file.NoSuchFileException | java.nio.file.DirectoryNotEmptyException raced) {
                if (attempt >= 5) throw raced;
                sleep(100);
            }
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    @Override
    public String toString() {
        return kind + " node at " + apiUrl() + " (IPFS_PATH " + repo + ")";
    }
}
