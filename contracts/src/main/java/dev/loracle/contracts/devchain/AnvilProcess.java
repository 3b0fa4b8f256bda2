package dev.loracle.contracts.devchain;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.web3j.crypto.Credentials;
import org.web3j.protocol.Web3j;
import org.web3j.protocol.core.Request;
import org.web3j.protocol.core.Response;
import org.web3j.protocol.http.HttpService;

/**
 * A local Anvil node (the npm {@code @foundry-rs/anvil} binary) on a loopback port, for tests and the dev stack.
 * Chain id 31337, the ten accounts of {@link DevAccounts} prefunded. HTTP and WebSocket share the port.
 *
 * <p>Binary lookup: system property {@code loracle.anvil.bin}, env {@code ANVIL_BIN}, then
 * {@code <root>/deploy/dev-stack/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil} where root is the system
 * property {@code loracle.root} or the nearest directory above the working directory holding {@code deploy/dev-stack}.
 */
public final class AnvilProcess implements AutoCloseable {
    public static final long CHAIN_ID = 31337;
    private static final String BINARY_IN_ROOT =
            "deploy/dev-stack/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil";
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(15);

    private final Process process;
    private final int port;
    private final Path logFile;
    private final Web3j web3j;
    private final HttpService http;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Thread exitHook;

    private AnvilProcess(Process process, int port, Path logFile) {
        this.process = process;
        this.port = port;
        this.logFile = logFile;
        this.http = new HttpService(httpUrl());
        this.web3j = Web3j.build(http);
        // The JVM does not stop child processes on exit: without this an unclosed node (a failed test, Ctrl-C)
        // would outlive it.
        this.exitHook = new Thread(process::destroy, "anvil-" + port + "-exit");
        Runtime.getRuntime().addShutdownHook(exitHook);
    }

    /** Starts Anvil with automine (a block per transaction) on a free loopback port. */
    public static AnvilProcess start() {
        return builder().start();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Options for {@link #start()}. */
    public static final class Builder {
        private Integer port;
        private Integer blockTimeSeconds;
        private Path binary;
        private final List<String> extraArgs = new ArrayList<>();

        private Builder() {}

        /** A fixed port instead of a free one (e.g. 8545 for the dev stack). */
        public Builder port(int port) {
            if (port <= 0 || port > 65535) {
                throw new IllegalArgumentException("port " + port + " outside 1..65535");
            }
            this.port = port;
            return this;
        }

        /** Interval mining: a block every {@code seconds} instead of one per transaction. */
        public Builder blockTime(int seconds) {
            if (seconds <= 0) {
                throw new IllegalArgumentException("block time must be positive, got " + seconds);
            }
            this.blockTimeSeconds = seconds;
            return this;
        }

        /** Explicit anvil binary. */
        public Builder binary(Path binary) {
            this.binary = binary;
            return this;
        }

        /** Further anvil arguments, e.g. {@code --load-state FILE}. */
        public Builder extraArgs(String... args) {
            extraArgs.addAll(Arrays.asList(args));
            return this;
        }

        public AnvilProcess start() {
            Path bin = binary != null ? binary : locateBinary();
            if (!Files.isExecutable(bin)) {
                throw new IllegalStateException("anvil binary not found or not executable at " + bin
                        + "; run `npm ci` in deploy/dev-stack or set -Dloracle.anvil.bin / ANVIL_BIN");
            }
            // A free port can be taken between probing and binding; retry a few times in that case.
            IllegalStateException last = null;
            for (int attempt = 0; attempt < (port != null ? 1 : 3); attempt++) {
                int chosen = port != null ? port : freeLoopbackPort();
                try {
                    return launch(bin, chosen);
                } catch (IllegalStateException e) {
                    last = e;
                }
            }
            throw last;
        }

        private AnvilProcess launch(Path bin, int chosenPort) {
            List<String> command = new ArrayList<>(List.of(bin.toString(),
                    "--host", "127.0.0.1", "--port", Integer.toString(chosenPort),
                    "--chain-id", Long.toString(CHAIN_ID), "--accounts", Integer.toString(DevAccounts.COUNT)));
            if (blockTimeSeconds != null) {
                command.addAll(List.of("--block-time", blockTimeSeconds.toString()));
            }
            command.addAll(extraArgs);
            Path log;
            Process process;
            try {
                log = Files.createTempFile("anvil-" + chosenPort + "-", ".log");
                process = new ProcessBuilder(command)
                        .redirectErrorStream(true)
                        .redirectOutput(log.toFile())
                        .start();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot start " + bin, e);
            }
            AnvilProcess anvil = new AnvilProcess(process, chosenPort, log);
            anvil.awaitReady();
            return anvil;
        }
    }

    /** {@code http://127.0.0.1:PORT}. */
    public String httpUrl() {
        return "http://127.0.0.1:" + port;
    }

    /** {@code ws://127.0.0.1:PORT} (Anvil serves WebSocket on the HTTP port). */
    public String wsUrl() {
        return "ws://127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    public long chainId() {
        return CHAIN_ID;
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** An HTTP client for this node, closed with it. */
    public Web3j web3j() {
        return web3j;
    }

    /** Dev account {@code index} (0..9), prefunded with 10000 ETH. */
    public Credentials account(int index) {
        return DevAccounts.get(index);
    }

    /** Private keys of the ten dev accounts as 0x-prefixed hex. */
    public List<String> privateKeys() {
        return DevAccounts.all().stream()
                .map(c -> "0x" + String.format("%064x", c.getEcKeyPair().getPrivateKey()))
                .toList();
    }

    /** Mines {@code blocks} blocks now. */
    public void mine(int blocks) {
        call("anvil_mine", List.of("0x" + Integer.toHexString(blocks)));
    }

    /** Switches mining per transaction on or off. */
    public void setAutomine(boolean enabled) {
        call("evm_setAutomine", List.of(enabled));
    }

    /** Replaces the last {@code depth} blocks with as many new empty blocks (their transactions are dropped). */
    public void reorg(int depth) {
        if (depth <= 0) {
            throw new IllegalArgumentException("reorg depth must be positive, got " + depth);
        }
        call("anvil_reorg", List.of(depth, List.of()));
    }

    /** Moves the chain clock forward; applies from the next mined block. */
    public void increaseTime(long seconds) {
        call("evm_increaseTime", List.of(seconds));
    }

    /** Saves the chain state; returns the id for {@link #revert(String)}. */
    public String snapshot() {
        return String.valueOf(call("evm_snapshot", List.of()));
    }

    /** Restores a snapshot; returns whether it existed. */
    public boolean revert(String snapshotId) {
        return Boolean.TRUE.equals(call("evm_revert", List.of(snapshotId)));
    }

    /** Current block number. */
    public BigInteger blockNumber() {
        try {
            return web3j.ethBlockNumber().send().getBlockNumber();
        } catch (IOException e) {
            throw new UncheckedIOException("eth_blockNumber failed on " + httpUrl(), e);
        }
    }

    /** A raw JSON-RPC call; throws on an RPC error. */
    public Object call(String method, List<?> params) {
        try {
            RawResponse response = new Request<>(method, params, http, RawResponse.class).send();
            if (response.hasError()) {
                throw new IllegalStateException(method + " failed: " + response.getError().getMessage());
            }
            return response.getResult();
        } catch (IOException e) {
            throw new UncheckedIOException(method + " failed on " + httpUrl(), e);
        }
    }

    /** The last lines anvil printed, for error messages. */
    public String logTail() {
        try {
            List<String> lines = Files.readAllLines(logFile);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** Stops the node gracefully (SIGTERM, then SIGKILL after 5 s) and deletes its log. */
    @Override
    public void close() {
        if (closed.getAndSet(true)) {
            return;
        }
        try {
            Runtime.getRuntime().removeShutdownHook(exitHook);
        } catch (IllegalStateException shuttingDown) {
            // close() called from a shutdown hook: the exit hook runs anyway
        }
        web3j.shutdown();
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        try {
            Files.deleteIfExists(logFile);
        } catch (IOException ignored) {
            // a leftover temp log is harmless
        }
    }

    /** Kills the node at once (SIGKILL), as a crash would; {@link #close()} is still safe afterwards. */
    public void kill() {
        process.destroyForcibly();
        try {
            process.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void awaitReady() {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                String tail = logTail();
                close();
                throw new IllegalStateException("anvil exited with " + process.exitValue() + " on port " + port
                        + ":\n" + tail);
            }
            // Our own process must report its listener: another node already on the port would answer the probe.
            if (logContains("Listening on 127.0.0.1:" + port)) {
                try {
                    if (web3j.ethChainId().send().getChainId().longValue() == CHAIN_ID) {
                        return;
                    }
                } catch (IOException | RuntimeException notYet) {
                    // not answering yet
                }
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                close();
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for anvil", e);
            }
        }
        String tail = logTail();
        close();
        throw new IllegalStateException("anvil did not answer on " + httpUrl() + " within " + READY_TIMEOUT
                + ":\n" + tail);
    }

    private boolean logContains(String text) {
        try {
            return Files.readString(logFile).contains(text);
        } catch (IOException e) {
            return false;
        }
    }

    static Path locateBinary() {
        String explicit = Optional.ofNullable(System.getProperty("loracle.anvil.bin"))
                .orElse(System.getenv("ANVIL_BIN"));
        if (explicit != null && !explicit.isBlank()) {
            return Path.of(explicit);
        }
        return repoRoot().resolve(BINARY_IN_ROOT);
    }

    /** The repository root: property {@code loracle.root}, else the nearest parent holding deploy/dev-stack. */
    public static Path repoRoot() {
        String root = System.getProperty("loracle.root");
        if (root != null && !root.isBlank()) {
            return Path.of(root).toAbsolutePath().normalize();
        }
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isDirectory(dir.resolve("deploy/dev-stack"))) {
                return dir;
            }
        }
        throw new IllegalStateException("cannot find the Loracle repository root (no deploy/dev-stack above "
                + Path.of("").toAbsolutePath() + "); set -Dloracle.root or -Dloracle.anvil.bin");
    }

    private static int freeLoopbackPort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free loopback port", e);
        }
    }

    /** JSON-RPC response with an untyped result. */
    public static final class RawResponse extends Response<Object> {}
}
