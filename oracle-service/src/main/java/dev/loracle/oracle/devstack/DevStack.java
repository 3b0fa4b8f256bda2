package dev.loracle.oracle.devstack;

import dev.loracle.contracts.devchain.AnvilProcess;
import dev.loracle.contracts.devchain.DevAccounts;
import dev.loracle.contracts.devchain.DevChainDeployer;
import dev.loracle.contracts.devchain.Deployment;
import dev.loracle.ipfs.IpfsNodeProcess;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.web3j.utils.Numeric;
import tools.jackson.databind.json.JsonMapper;

/**
 * The whole local system in one object: an Anvil chain, a real IPFS node, the contracts deployed and configured
 * (the base model registered with its weights hash and numeric profile, dev account 1 as the oracle), two example
 * style adapters for the model's shape published to IPFS, and an oracle node on the embedded defaults (H2 file
 * journal, CPU backend, the model: stories260K from the models directory unless {@link Builder#model} names another),
 * either inside this JVM or as a child JVM. {@link #close()} stops everything it started, in reverse order; a JVM shutdown
 * hook does the same on Ctrl-C.
 */
public final class DevStack implements AutoCloseable {
    /** Where the oracle node runs. */
    public enum OracleMode { IN_PROCESS, CHILD_PROCESS, NONE }

    /** Dev account indexes: 0 owns the contracts, 1 is the oracle, 2 is the demo's user. */
    public static final int OWNER_ACCOUNT = 0;
    public static final int ORACLE_ACCOUNT = 1;
    public static final int USER_ACCOUNT = 2;

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final Builder options;
    private final Map<String, Long> stageMillis = new LinkedHashMap<>();
    private final List<AutoCloseable> started = new ArrayList<>();
    private final Thread shutdownHook = new Thread(this::closeQuietly, "loracle-devstack-shutdown");
    private Path workDir;
    private boolean ownsWorkDir;
    private AnvilProcess anvil;
    private IpfsNodeProcess ipfs;
    private Deployment deployment;
    private List<ExampleAdapters.Published> adapters = List.of();
    private DemoModel model;
    private OracleSettings oracleSettings;
    private boolean closed;

    private DevStack(Builder options) {
        this.options = options;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Options; {@link #start()} brings the stack up. */
    public static final class Builder {
        private Integer blockTimeSeconds;
        private Integer anvilPort;
        private Integer oraclePort;
        private Path workDir;
        private Path modelsDir;
        private DemoModel model;
        private OracleMode oracleMode = OracleMode.IN_PROCESS;
        private Consumer<String> progress = line -> { };
        private Duration oracleReadyTimeout = Duration.ofSeconds(90);

        private Builder() {}

        /** Interval mining (seconds per block) instead of automine. */
        public Builder blockTime(Integer seconds) {
            this.blockTimeSeconds = seconds;
            return this;
        }

        /** A fixed Anvil port (e.g. 8545); default a free one. */
        public Builder anvilPort(Integer port) {
            this.anvilPort = port;
            return this;
        }

        /** A fixed port for the oracle's REST API; default a free one. */
        public Builder oraclePort(Integer port) {
            this.oraclePort = port;
            return this;
        }

        /** Directory for the journal, adapter cache, adapters and logs; default a fresh temporary one (deleted on close). */
        public Builder workDir(Path dir) {
            this.workDir = dir;
            return this;
        }

        /** Models directory; default as {@link DevChainDeployer#modelsDir()} (loracle.models.dir, ORACLE_MODELS_DIR). */
        public Builder modelsDir(Path dir) {
            this.modelsDir = dir;
            return this;
        }

        /** The base model to register and serve (e.g. {@link DemoModel#fromGguf}); default stories260K from the models directory. */
        public Builder model(DemoModel served) {
            this.model = served;
            return this;
        }

        public Builder oracleMode(OracleMode mode) {
            this.oracleMode = mode;
            return this;
        }

        /** Receives one line per step ("starting anvil", ...). */
        public Builder progress(Consumer<String> listener) {
            this.progress = listener;
            return this;
        }

        public Builder oracleReadyTimeout(Duration timeout) {
            this.oracleReadyTimeout = timeout;
            return this;
        }

        /**
         * Starts chain, IPFS, contracts and adapters; then the oracle (unless {@link OracleMode#NONE}). If the oracle
         * fails to start, the exception is thrown but the rest stays up: call {@link DevStack#close()}.
         */
        public DevStack start() {
            DevStack stack = new DevStack(this);
            Runtime.getRuntime().addShutdownHook(stack.shutdownHook);
            try {
                stack.startInfrastructure();
            } catch (RuntimeException e) {
                stack.close();
                throw e;
            }
            if (oracleMode != OracleMode.NONE) {
                stack.startOracle();
            }
            return stack;
        }
    }

    private void startInfrastructure() {
        Path models = options.modelsDir != null ? options.modelsDir : DevChainDeployer.modelsDir();
        model = options.model != null ? options.model : DemoModel.stories260K(models);
        if (!Files.isRegularFile(model.weights())) {
            throw new IllegalStateException("model not found: " + model.weights() + " (set ORACLE_MODELS_DIR or "
                    + "-Dloracle.models.dir to the directory holding llama2c/stories260K.bin; scripts/fetch-models "
                    + "downloads it)");
        }
        try {
            ownsWorkDir = options.workDir == null;
            workDir = ownsWorkDir ? Files.createTempDirectory("loracle-devstack-")
                    : Files.createDirectories(options.workDir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the dev stack's work directory", e);
        }

        stage("anvil", () -> {
            AnvilProcess.Builder builder = AnvilProcess.builder();
            if (options.blockTimeSeconds != null) {
                builder.blockTime(options.blockTimeSeconds);
            }
            if (options.anvilPort != null) {
                builder.port(options.anvilPort);
            }
            anvil = builder.start();
            started.add(anvil);
            return "anvil at " + anvil.httpUrl() + (options.blockTimeSeconds == null ? " (automine)"
                    : " (block time " + options.blockTimeSeconds + " s)");
        });
        stage("ipfs", () -> {
            ipfs = IpfsNodeProcess.start();
            started.add(ipfs);
            return ipfs.kind() + " IPFS node at " + ipfs.apiUrl();
        });
        stage("deploy", () -> {
            byte[] weightsHash = DevChainDeployer.sha256(model.weights());
            DevChainDeployer.Config config = DevChainDeployer.Config.defaults(weightsHash,
                    List.of(DevAccounts.get(ORACLE_ACCOUNT).getAddress()))
                    .withModel(model.name(), model.uri()).withProfile(model.profile());
            try {
                deployment = DevChainDeployer.deploy(anvil.web3j(), anvil.httpUrl(), anvil.wsUrl(), anvil.chainId(),
                        DevAccounts.get(OWNER_ACCOUNT), config);
            } catch (Exception e) {
                throw new IllegalStateException("contract deployment failed: " + e.getMessage(), e);
            }
            return "coordinator " + deployment.coordinator() + ", StoryTeller " + deployment.storyTeller();
        });
        stage("adapters", () -> {
            adapters = ExampleAdapters.createAndPublish(workDir.resolve("adapters"), ipfs.client(), model.shape());
            return adapters.size() + " style adapters for " + model.name() + " published: " + String.join(", ",
                    adapters.stream().map(a -> a.name() + "=" + a.cid()).toList());
        });
        oracleSettings = OracleSettings.local(anvil.httpUrl(), anvil.wsUrl(), deployment.coordinator(),
                oracleKey(), ipfs.apiUrl().toString(), model, workDir.resolve("oracle"),
                options.oraclePort != null ? options.oraclePort : freePort(), deployment.deployBlock());
    }

    /** Starts the oracle node (for a stack built with {@link OracleMode#NONE}, or after a failed start). */
    public synchronized void startOracle(OracleMode mode) {
        if (mode == OracleMode.NONE || closed) {
            return;
        }
        options.oracleMode = mode;
        startOracle();
    }

    private void startOracle() {
        stage("oracle", () -> {
            if (options.oracleMode == OracleMode.CHILD_PROCESS) {
                OracleProcess process = OracleProcess.start(oracleSettings, options.oracleReadyTimeout);
                started.add(process);
                return "oracle node (pid " + process.pid() + ") at " + oracleSettings.restUrl();
            }
            EmbeddedOracle embedded = EmbeddedOracle.start(oracleSettings);
            started.add(embedded);
            return "oracle node (in-process) at " + oracleSettings.restUrl();
        });
    }

    private static String oracleKey() {
        return Numeric.toHexStringWithPrefixZeroPadded(
                DevAccounts.get(ORACLE_ACCOUNT).getEcKeyPair().getPrivateKey(), 64);
    }

    private interface Step {
        String run();
    }

    private void stage(String name, Step step) {
        options.progress.accept("starting " + name + " ...");
        long t0 = System.nanoTime();
        String done = step.run();
        long ms = (System.nanoTime() - t0) / 1_000_000;
        stageMillis.put(name, ms);
        options.progress.accept(done + " [" + ms + " ms]");
    }

    public AnvilProcess anvil() {
        return anvil;
    }

    public IpfsNodeProcess ipfs() {
        return ipfs;
    }

    public Deployment deployment() {
        return deployment;
    }

    public List<ExampleAdapters.Published> adapters() {
        return adapters;
    }

    /** The base model registered and served. */
    public DemoModel model() {
        return model;
    }

    public OracleSettings oracleSettings() {
        return oracleSettings;
    }

    public OracleRestClient oracleRest() {
        return new OracleRestClient(oracleSettings.restUrl());
    }

    public Path workDir() {
        return workDir;
    }

    /** Milliseconds each start-up stage took (anvil, ipfs, deploy, adapters, oracle). */
    public Map<String, Long> startupMillis() {
        return Map.copyOf(stageMillis);
    }

    /** Addresses and endpoints as one JSON object (what --keep-running prints). */
    /** Base URL of the oracle node's REST API. */
    public String oracleRestUrl() {
        return oracleSettings.restUrl();
    }

    public String endpointsJson() {
        StringBuilder json = new StringBuilder("{\n");
        json.append("  \"rpcUrl\": \"").append(anvil.httpUrl()).append("\",\n");
        json.append("  \"wsUrl\": \"").append(anvil.wsUrl()).append("\",\n");
        json.append("  \"chainId\": ").append(anvil.chainId()).append(",\n");
        json.append("  \"coordinator\": \"").append(deployment.coordinator()).append("\",\n");
        json.append("  \"storyTeller\": \"").append(deployment.storyTeller()).append("\",\n");
        json.append("  \"modelId\": \"").append(deployment.modelId()).append("\",\n");
        json.append("  \"modelName\": ").append(jsonString(model.name())).append(",\n");
        json.append("  \"promptFormat\": \"").append(model.chat() ? "CHAT" : "RAW").append("\",\n");
        json.append("  \"oracle\": \"").append(DevAccounts.get(ORACLE_ACCOUNT).getAddress()).append("\",\n");
        json.append("  \"ipfsApi\": \"").append(ipfs.apiUrl()).append("\",\n");
        json.append("  \"oracleRest\": \"").append(oracleSettings.restUrl()).append("\",\n");
        json.append("  \"devApiKey\": \"").append(OracleSettings.DEV_API_KEY).append("\",\n");
        json.append("  \"devAdminKey\": \"").append(OracleSettings.DEV_ADMIN_KEY).append("\",\n");
        DemoModel.ApiExample call = model.apiExample(32);
        json.append("  \"completions\": {\"url\": \"").append(oracleSettings.restUrl()).append(call.path())
                .append("\", \"header\": \"Authorization: Bearer ").append(OracleSettings.DEV_API_KEY).append("\", ")
                .append("\"body\": ").append(call.body()).append("},\n");
        json.append("  \"userAccount\": \"").append(DevAccounts.get(USER_ACCOUNT).getAddress()).append("\",\n");
        json.append("  \"userPrivateKey\": \"").append(Numeric.toHexStringWithPrefixZeroPadded(
                DevAccounts.get(USER_ACCOUNT).getEcKeyPair().getPrivateKey(), 64)).append("\",\n");
        json.append("  \"adapters\": [");
        for (int i = 0; i < adapters.size(); i++) {
            ExampleAdapters.Published a = adapters.get(i);
            json.append(i == 0 ? "\n" : ",\n").append("    {\"name\": \"").append(a.name())
                    .append("\", \"cid\": \"").append(a.cid()).append("\", \"cidBytes\": \"")
                    .append(Numeric.toHexString(a.cidBytes())).append("\", \"weight\": ").append(a.weight())
                    .append("}");
        }
        json.append("\n  ],\n");
        json.append("  \"workDir\": \"").append(workDir).append("\"\n}");
        return json.toString();
    }

    private static String jsonString(String text) {
        return JSON.writeValueAsString(text);
    }

    /** True once {@link #close()} ran (also from the Ctrl-C hook). */
    public synchronized boolean isClosed() {
        return closed;
    }

    /** Stops the oracle, IPFS and Anvil (reverse start order) and deletes a temporary work directory. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (!started.isEmpty()) {
            options.progress.accept("stopping " + started.size() + " dev stack processes ...");
        }
        List<Throwable> failures = new ArrayList<>();
        for (int i = started.size() - 1; i >= 0; i--) {
            try {
                started.get(i).close();
            } catch (Exception e) {
                failures.add(e);
            }
        }
        started.clear();
        if (ownsWorkDir && workDir != null) {
            deleteTree(workDir);
        }
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException shuttingDown) {
            // called from the hook itself
        }
        if (!failures.isEmpty()) {
            IllegalStateException e = new IllegalStateException("some dev stack processes did not stop cleanly");
            failures.forEach(e::addSuppressed);
            throw e;
        }
    }

    private void closeQuietly() {
        try {
            close();
        } catch (RuntimeException e) {
            System.err.println("dev stack shutdown: " + e.getMessage());
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | UncheckedIOException ignored) {
            // best effort: a leftover temp dir is harmless
        }
    }

    /** A free TCP port on the loopback address (for the processes the dev stack starts). */
    public static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free loopback port", e);
        }
    }
}
