package dev.loracle.oracle.devstack;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The settings of one local oracle node, turned into the Spring properties the node reads (prefix {@code loracle}).
 * One place for the key names, so the dev stack, the demo and the end-to-end tests start the node the same way,
 * in-process or as a separate JVM.
 *
 * @param rpcUrl HTTP JSON-RPC endpoint
 * @param wsUrl WebSocket endpoint, or null to let the node derive it
 * @param websocket whether the node subscribes over WebSocket (false: polling only)
 * @param coordinator InferenceCoordinator address
 * @param oraclePrivateKey 0x-hex key of the oracle account (dev accounts only: it is passed on the command line)
 * @param ipfsApiUrl IPFS RPC API base URL
 * @param model the base model the node serves (its name, weights file and, for llama2.c, tokenizer file)
 * @param dataDir directory for the H2 journal file and the adapter cache; reused across restarts
 * @param httpPort port of the node's REST API and Actuator
 * @param confirmations confirmations a request log needs before it is acted on
 * @param txConfirmations confirmations a fulfilment needs before the request is CONFIRMED
 * @param startBlock first block scanned (the coordinator's deployment block)
 * @param pollInterval head / reorg / backfill poll interval
 * @param fetchTimeout IPFS fetch timeout per adapter
 * @param jdbcUrl journal database URL, or null for the embedded H2 file under {@code dataDir}
 * @param jdbcUser journal database user (ignored for the embedded default)
 */
public record OracleSettings(String rpcUrl, String wsUrl, boolean websocket, String coordinator,
        String oraclePrivateKey, String ipfsApiUrl, DemoModel model, Path dataDir, int httpPort, int confirmations,
        int txConfirmations, long startBlock, Duration pollInterval, Duration fetchTimeout, String jdbcUrl,
        String jdbcUser) {

    /** Admin API key of local nodes (dev only). */
    public static final String DEV_ADMIN_KEY = "dev-admin-key";
    /** Completions API key of local nodes (dev only). */
    public static final String DEV_API_KEY = "dev-api-key";

    public OracleSettings {
        Objects.requireNonNull(rpcUrl, "rpcUrl");
        Objects.requireNonNull(coordinator, "coordinator");
        Objects.requireNonNull(oraclePrivateKey, "oraclePrivateKey");
        Objects.requireNonNull(ipfsApiUrl, "ipfsApiUrl");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(pollInterval, "pollInterval");
        Objects.requireNonNull(fetchTimeout, "fetchTimeout");
        if (httpPort <= 0 || httpPort > 65535) {
            throw new IllegalArgumentException("httpPort " + httpPort + " outside 1..65535");
        }
    }

    /** Local defaults (see the other {@code local}) serving stories260K from {@code modelsDir}. */
    public static OracleSettings local(String rpcUrl, String wsUrl, String coordinator, String oraclePrivateKey,
            String ipfsApiUrl, Path modelsDir, Path dataDir, int httpPort, long startBlock) {
        return local(rpcUrl, wsUrl, coordinator, oraclePrivateKey, ipfsApiUrl, DemoModel.stories260K(modelsDir),
                dataDir, httpPort, startBlock);
    }

    /** Local defaults: 0 confirmations, 200 ms polling, 10 s fetch timeout, embedded H2. */
    public static OracleSettings local(String rpcUrl, String wsUrl, String coordinator, String oraclePrivateKey,
            String ipfsApiUrl, DemoModel model, Path dataDir, int httpPort, long startBlock) {
        return new OracleSettings(rpcUrl, wsUrl, true, coordinator, oraclePrivateKey, ipfsApiUrl, model, dataDir,
                httpPort, 0, 0, startBlock, Duration.ofMillis(200), Duration.ofSeconds(10), null, null);
    }

    public OracleSettings withRpc(String newRpcUrl, String newWsUrl) {
        return new OracleSettings(newRpcUrl, newWsUrl, websocket, coordinator, oraclePrivateKey, ipfsApiUrl, model,
                dataDir, httpPort, confirmations, txConfirmations, startBlock, pollInterval, fetchTimeout, jdbcUrl,
                jdbcUser);
    }

    public OracleSettings withWebsocket(boolean enabled) {
        return new OracleSettings(rpcUrl, wsUrl, enabled, coordinator, oraclePrivateKey, ipfsApiUrl, model,
                dataDir, httpPort, confirmations, txConfirmations, startBlock, pollInterval, fetchTimeout, jdbcUrl,
                jdbcUser);
    }

    public OracleSettings withConfirmations(int requestConfirmations, int fulfilConfirmations) {
        return new OracleSettings(rpcUrl, wsUrl, websocket, coordinator, oraclePrivateKey, ipfsApiUrl, model,
                dataDir, httpPort, requestConfirmations, fulfilConfirmations, startBlock, pollInterval, fetchTimeout,
                jdbcUrl, jdbcUser);
    }

    public OracleSettings withFetchTimeout(Duration timeout) {
        return new OracleSettings(rpcUrl, wsUrl, websocket, coordinator, oraclePrivateKey, ipfsApiUrl, model,
                dataDir, httpPort, confirmations, txConfirmations, startBlock, pollInterval, timeout, jdbcUrl,
                jdbcUser);
    }

    public OracleSettings withJdbc(String url, String user) {
        return new OracleSettings(rpcUrl, wsUrl, websocket, coordinator, oraclePrivateKey, ipfsApiUrl, model,
                dataDir, httpPort, confirmations, txConfirmations, startBlock, pollInterval, fetchTimeout, url, user);
    }

    /** The same node configuration for another oracle: its own key, data directory and port. */
    public OracleSettings forOracle(String privateKey, Path newDataDir, int newHttpPort) {
        return new OracleSettings(rpcUrl, wsUrl, websocket, coordinator, privateKey, ipfsApiUrl, model, newDataDir,
                newHttpPort, confirmations, txConfirmations, startBlock, pollInterval, fetchTimeout, null, null);
    }

    /** {@code http://127.0.0.1:PORT} of the node's REST API. */
    public String restUrl() {
        return "http://127.0.0.1:" + httpPort;
    }

    /** Spring properties for the node, in a stable order. */
    public Map<String, String> toProperties() {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("server.port", Integer.toString(httpPort));
        p.put("server.address", "127.0.0.1");
        p.put("loracle.chain.enabled", "true");
        p.put("loracle.chain.rpc-urls[0]", rpcUrl);
        if (wsUrl != null) {
            p.put("loracle.chain.ws-url", wsUrl);
        }
        p.put("loracle.chain.websocket", Boolean.toString(websocket));
        p.put("loracle.chain.coordinator-address", coordinator);
        p.put("loracle.chain.confirmations", Integer.toString(confirmations));
        p.put("loracle.chain.tx-confirmations", Integer.toString(txConfirmations));
        p.put("loracle.chain.start-block", Long.toString(startBlock));
        p.put("loracle.chain.poll-interval", pollInterval.toMillis() + "ms");
        p.put("loracle.chain.rpc-timeout", "3s");
        p.put("loracle.key.private-key", oraclePrivateKey);
        p.put("loracle.tx.receipt-poll-interval", "100ms");
        p.put("loracle.tx.stuck-after", "10s");
        p.put("loracle.ipfs.api-urls[0]", ipfsApiUrl);
        p.put("loracle.ipfs.cache-dir", dataDir.resolve("adapter-cache").toString());
        p.put("loracle.ipfs.fetch-timeout", fetchTimeout.toMillis() + "ms");
        p.put("loracle.model.name", model.name());
        p.put("loracle.model.path", model.weights().toString());
        // Empty for a GGUF: the node takes the vocabulary (and chat template) from the model file.
        p.put("loracle.model.tokenizer-path", model.tokenizer() == null ? "" : model.tokenizer().toString());
        p.put("loracle.model.backend", "CPU");
        p.put("loracle.api.keys[0]", DEV_API_KEY);
        p.put("loracle.api.admin-keys[0]", DEV_ADMIN_KEY);
        p.put("loracle.scheduler.deadline-margin", "1s");
        if (jdbcUrl != null) {
            p.put("spring.datasource.url", jdbcUrl);
            if (jdbcUser != null) {
                p.put("spring.datasource.username", jdbcUser);
            }
        } else {
            // A file database survives a kill -9 of the node, so a restart resumes from the same journal. H2 must not
            // close itself in its own JVM shutdown hook: the node checkpoints its journal while it shuts down.
            p.put("spring.datasource.url", "jdbc:h2:file:" + dataDir.resolve("journal").toAbsolutePath()
                    + ";DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0");
        }
        p.put("management.endpoints.web.exposure.include", "health,info,prometheus,metrics");
        p.put("management.endpoint.health.show-details", "always");
        p.put("spring.main.banner-mode", "off");
        return p;
    }

    /** {@link #toProperties()} as Spring command-line arguments ({@code --key=value}). */
    public String[] toArgs() {
        return toProperties().entrySet().stream().map(e -> "--" + e.getKey() + "=" + e.getValue())
                .toArray(String[]::new);
    }
}
