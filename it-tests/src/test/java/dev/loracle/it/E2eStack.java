package dev.loracle.it;

import dev.loracle.contracts.devchain.AnvilProcess;
import dev.loracle.contracts.devchain.DevAccounts;
import dev.loracle.contracts.devchain.DevChainDeployer;
import dev.loracle.contracts.devchain.Deployment;
import dev.loracle.contracts.devchain.TransactionManagers;
import dev.loracle.contracts.generated.InferenceCoordinator;
import dev.loracle.ipfs.IpfsNodeProcess;
import dev.loracle.ipfs.KuboRpcClient;
import dev.loracle.oracle.devstack.CoordinatorEvents;
import dev.loracle.oracle.devstack.DevStack;
import dev.loracle.oracle.devstack.ExampleAdapters;
import dev.loracle.oracle.devstack.OracleProcess;
import dev.loracle.oracle.devstack.OracleRestClient;
import dev.loracle.oracle.devstack.OracleSettings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.web3j.crypto.Credentials;
import org.web3j.protocol.Web3j;
import org.web3j.protocol.core.methods.response.TransactionReceipt;
import org.web3j.tx.TransactionManager;
import org.web3j.utils.Numeric;

/**
 * One end-to-end system for a test class: its own Anvil (automine or interval mining), its own IPFS node, the
 * contracts deployed and configured, the two example adapters published, and the oracle node in a separate JVM
 * (so tests can kill -9 it), optionally behind a TCP proxy (RPC outage) or a tampering IPFS proxy.
 * Requests are sent from plain accounts straight to the coordinator (consumer = the account) unless a test uses a
 * consumer contract. Everything is torn down by {@link #close()}; the oracle's log is kept and printed on failure.
 */
final class E2eStack implements AutoCloseable {
    static final int OWNER = 0;
    static final int ORACLE = 1;
    /** The second oracle of {@link Builder#secondOracle()} (an account no test sends requests from). */
    static final int ORACLE_2 = 9;
    static final Duration ORACLE_READY = Duration.ofSeconds(150);

    final AnvilProcess anvil;
    /** The IPFS node this stack started; null when it uses an external one (Testcontainers). */
    final IpfsNodeProcess ipfs;
    final KuboRpcClient ipfsClient;
    final Deployment deployment;
    final List<ExampleAdapters.Published> adapters;
    final TcpProxy rpcProxy;
    final TamperingIpfsProxy ipfsProxy;
    final Path dataDir;
    final OracleSettings settings;
    final CoordinatorEvents events;
    final byte[] modelId;
    OracleProcess oracle;
    /** The second oracle node, when the stack has one. */
    OracleProcess oracle2;
    private final boolean withSecondOracle;

    private final Map<Integer, TransactionManager> senders = new HashMap<>();

    private E2eStack(Builder b) throws Exception {
        Path models = ItPaths.modelsDir();
        AnvilProcess.Builder chain = AnvilProcess.builder();
        if (b.blockTime != null) {
            chain.blockTime(b.blockTime);
        }
        anvil = chain.start();
        IpfsNodeProcess node = null;
        try {
            node = b.externalIpfsApi == null ? IpfsNodeProcess.start() : null;
            String ipfsApi = node != null ? node.apiUrl().toString() : b.externalIpfsApi;
            ipfsClient = KuboRpcClient.create(ipfsApi);
            dataDir = Files.createTempDirectory("loracle-it-");
            byte[] weightsHash = DevChainDeployer.sha256(models.resolve(DevChainDeployer.DEFAULT_WEIGHTS_FILE));
            List<String> oracles = b.secondOracle
                    ? List.of(DevAccounts.get(ORACLE).getAddress(), DevAccounts.get(ORACLE_2).getAddress())
                    : List.of(DevAccounts.get(ORACLE).getAddress());
            DevChainDeployer.Config config = DevChainDeployer.Config.defaults(weightsHash, oracles)
                    .withExclusiveWindow(b.exclusiveWindow);
            deployment = DevChainDeployer.deploy(anvil.web3j(), anvil.httpUrl(), anvil.wsUrl(), anvil.chainId(),
                    DevAccounts.get(OWNER), config);
            modelId = Numeric.hexStringToByteArray(deployment.modelId());
            adapters = ExampleAdapters.createAndPublish(dataDir.resolve("adapters"), ipfsClient);
            rpcProxy = b.rpcProxy ? new TcpProxy(anvil.port()) : null;
            ipfsProxy = b.ipfsProxy ? new TamperingIpfsProxy(java.net.URI.create(ipfsApi)) : null;
            String rpc = rpcProxy != null ? rpcProxy.httpUrl() : anvil.httpUrl();
            String ws = rpcProxy != null ? rpcProxy.wsUrl() : anvil.wsUrl();
            OracleSettings s = OracleSettings.local(rpc, ws, deployment.coordinator(), privateKey(ORACLE),
                    ipfsProxy != null ? ipfsProxy.url() : ipfsApi, models,
                    dataDir.resolve("oracle"), DevStack.freePort(), deployment.deployBlock())
                    .withConfirmations(b.confirmations, b.txConfirmations)
                    .withFetchTimeout(b.fetchTimeout);
            if (b.jdbcUrl != null) {
                s = s.withJdbc(b.jdbcUrl, b.jdbcUser);
            }
            settings = s;
            events = new CoordinatorEvents(anvil.web3j(), deployment.coordinator(), deployment.deployBlock());
        } catch (Exception | Error e) {
            if (node != null) {
                node.close();
            }
            anvil.close();
            throw e;
        }
        ipfs = node;
        withSecondOracle = b.secondOracle;
    }

    static Builder builder() {
        return new Builder();
    }

    static final class Builder {
        private Integer blockTime;
        private boolean rpcProxy;
        private boolean ipfsProxy;
        private int confirmations;
        private int txConfirmations;
        private Duration fetchTimeout = Duration.ofSeconds(10);
        private String jdbcUrl;
        private String jdbcUser;
        private boolean startOracle = true;
        private String externalIpfsApi;
        private boolean secondOracle;
        private Long exclusiveWindow;

        /** Registers and starts a second oracle node (account {@link #ORACLE_2}) on the same coordinator. */
        Builder secondOracle() {
            secondOracle = true;
            return this;
        }

        /** The coordinator's exclusive window in seconds (default: the contract's 60 s). */
        Builder exclusiveWindow(long seconds) {
            exclusiveWindow = seconds;
            return this;
        }

        /** Use this IPFS RPC API (e.g. a Kubo container) instead of starting a node. */
        Builder externalIpfs(String apiUrl) {
            externalIpfsApi = apiUrl;
            return this;
        }

        Builder blockTime(int seconds) {
            blockTime = seconds;
            return this;
        }

        Builder rpcProxy() {
            rpcProxy = true;
            return this;
        }

        Builder ipfsProxy() {
            ipfsProxy = true;
            return this;
        }

        Builder confirmations(int request, int tx) {
            confirmations = request;
            txConfirmations = tx;
            return this;
        }

        Builder fetchTimeout(Duration timeout) {
            fetchTimeout = timeout;
            return this;
        }

        Builder jdbc(String url, String user) {
            jdbcUrl = url;
            jdbcUser = user;
            return this;
        }

        Builder withoutOracle() {
            startOracle = false;
            return this;
        }

        E2eStack start() throws Exception {
            E2eStack stack = new E2eStack(this);
            if (startOracle) {
                try {
                    stack.startOracle();
                } catch (RuntimeException e) {
                    stack.close();
                    throw e;
                }
            }
            return stack;
        }
    }

    /** Starts the oracle JVM (or restarts it on the same journal when it was killed). */
    void startOracle() {
        long t0 = System.nanoTime();
        if (oracle == null) {
            oracle = OracleProcess.start(settings, ORACLE_READY);
            if (withSecondOracle) {
                oracle2 = OracleProcess.start(settings.forOracle(privateKey(ORACLE_2), dataDir.resolve("oracle-2"),
                        DevStack.freePort()), ORACLE_READY);
            }
        } else {
            oracle.restart(ORACLE_READY);
        }
        log("oracle up (pid " + oracle.pid() + ", start #" + oracle.starts() + ") in "
                + (System.nanoTime() - t0) / 1_000_000 + " ms");
    }

    Web3j web3j() {
        return anvil.web3j();
    }

    OracleRestClient rest() {
        return new OracleRestClient(settings.restUrl());
    }

    static String privateKey(int account) {
        return Numeric.toHexStringWithPrefixZeroPadded(DevAccounts.get(account).getEcKeyPair().getPrivateKey(), 64);
    }

    static Credentials account(int index) {
        return DevAccounts.get(index);
    }

    synchronized TransactionManager sender(int account) {
        return senders.computeIfAbsent(account, a -> TransactionManagers.fastPolling(web3j(), DevAccounts.get(a),
                anvil.chainId(), Duration.ofMillis(50), Duration.ofSeconds(120)));
    }

    InferenceCoordinator coordinatorAs(int account) {
        return InferenceCoordinator.load(deployment.coordinator(), web3j(), sender(account), DevChainDeployer.DEV_GAS);
    }

    /** The example adapters as coordinator structs. */
    List<InferenceCoordinator.Adapter> exampleAdapters() {
        return adapters.stream()
                .map(a -> new InferenceCoordinator.Adapter(a.cidBytes(), BigInteger.valueOf(a.weight()))).toList();
    }

    static InferenceCoordinator.Adapter adapter(byte[] cid, int weight) {
        return new InferenceCoordinator.Adapter(cid, BigInteger.valueOf(weight));
    }

    /** What a test asks for; {@link #basic()} is a short greedy story with both example adapters. */
    record Spec(List<InferenceCoordinator.Adapter> adapters, byte[] prompt, int promptFormat, int maxTokens, int temperature, int topP,
            long seed, int callbackGasLimit, long deadlineSeconds) {
        Spec withAdapters(List<InferenceCoordinator.Adapter> a) {
            return new Spec(a, prompt, promptFormat, maxTokens, temperature, topP, seed, callbackGasLimit, deadlineSeconds);
        }

        Spec withPrompt(String text) {
            return withPromptBytes(text.getBytes(StandardCharsets.UTF_8));
        }

        Spec withPromptBytes(byte[] bytes) {
            return new Spec(adapters, bytes, promptFormat, maxTokens, temperature, topP, seed, callbackGasLimit, deadlineSeconds);
        }

        Spec withMaxTokens(int n) {
            return new Spec(adapters, prompt, promptFormat, n, temperature, topP, seed, callbackGasLimit, deadlineSeconds);
        }

        Spec withDeadlineSeconds(long seconds) {
            return new Spec(adapters, prompt, promptFormat, maxTokens, temperature, topP, seed, callbackGasLimit, seconds);
        }

        /** A CHAT-format prompt (a JSON list of messages). */
        Spec withChatPrompt(String json) {
            return new Spec(adapters, json.getBytes(StandardCharsets.UTF_8), 1, maxTokens, temperature, topP, seed,
                    callbackGasLimit, deadlineSeconds);
        }

        Spec withSeed(long s) {
            return new Spec(adapters, prompt, promptFormat, maxTokens, temperature, topP, s, callbackGasLimit, deadlineSeconds);
        }
    }

    Spec basic() {
        return new Spec(exampleAdapters(), "Once upon a time".getBytes(StandardCharsets.UTF_8), 0, 24, 0, 10_000, 7,
                300_000, 900);
    }

    BigInteger fee(Spec spec) throws Exception {
        return coordinatorAs(OWNER).quoteFee(modelId, BigInteger.valueOf(spec.adapters().size()),
                BigInteger.valueOf(spec.maxTokens()), BigInteger.valueOf(spec.callbackGasLimit())).send();
    }

    /** A request from {@code account} (its own consumer); returns the requestId and the receipt. */
    Sent request(int account, Spec spec) throws Exception {
        BigInteger fee = fee(spec);
        TransactionReceipt receipt = coordinatorAs(account).requestInference(modelId, spec.adapters(), spec.prompt(),
                BigInteger.valueOf(spec.promptFormat()),
                BigInteger.valueOf(spec.maxTokens()), BigInteger.valueOf(spec.temperature()),
                BigInteger.valueOf(spec.topP()), BigInteger.valueOf(spec.seed()),
                BigInteger.valueOf(spec.callbackGasLimit()), BigInteger.valueOf(deadline(spec)), fee).send();
        if (!receipt.isStatusOK()) {
            throw new IllegalStateException("requestInference reverted: " + receipt.getRevertReason());
        }
        BigInteger id = InferenceCoordinator.getInferenceRequestedEvents(receipt).getFirst().requestId;
        return new Sent(id, receipt.getTransactionHash(), receipt.getBlockNumber().longValueExact(), fee);
    }

    record Sent(BigInteger requestId, String txHash, long block, BigInteger fee) {}

    long deadline(Spec spec) throws IOException {
        long now = web3j().ethGetBlockByNumber(org.web3j.protocol.core.DefaultBlockParameterName.LATEST, false)
                .send().getBlock().getTimestamp().longValueExact();
        return now + spec.deadlineSeconds();
    }

    /** Waits until every id has at least one outcome event; returns the outcomes per id (all of them). */
    Map<BigInteger, List<CoordinatorEvents.Outcome>> awaitOutcomes(Collection<BigInteger> ids, Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        Map<BigInteger, List<CoordinatorEvents.Outcome>> byId = new HashMap<>();
        while (true) {
            byId.clear();
            for (CoordinatorEvents.Outcome o : events.outcomes()) {
                byId.computeIfAbsent(o.requestId(), k -> new ArrayList<>()).add(o);
            }
            boolean all = ids.stream().allMatch(byId::containsKey);
            if (all || System.nanoTime() > deadline) {
                return byId;
            }
            if (oracle != null && !oracle.isAlive()) {
                throw new IllegalStateException("the oracle process died; log:\n" + oracle.logTail());
            }
            Thread.sleep(250);
        }
    }

    CoordinatorEvents.Outcome awaitOutcome(BigInteger id, Duration timeout) throws InterruptedException {
        List<CoordinatorEvents.Outcome> list = awaitOutcomes(List.of(id), timeout).get(id);
        if (list == null) {
            throw new AssertionError("request " + hex(id) + " has no InferenceFulfilled/InferenceFailed event after "
                    + timeout.toSeconds() + " s; oracle journal: " + journalLine(id) + "\noracle log:\n"
                    + oracleLogTail());
        }
        if (list.size() != 1) {
            throw new AssertionError("request " + hex(id) + " ended " + list.size() + " times: " + list);
        }
        return list.getFirst();
    }

    BigInteger credits(String address) throws Exception {
        return coordinatorAs(OWNER).credits(address).send();
    }

    String journalLine(BigInteger id) {
        try {
            return rest().request(id).map(Object::toString)
                    .orElse("(no entry)");
        } catch (RuntimeException e) {
            return "(REST unavailable: " + e.getMessage() + ")";
        }
    }

    String oracleLogTail() {
        return oracle == null ? "(oracle not started)" : oracle.logTail(80);
    }

    static String hex(BigInteger id) {
        return Numeric.toHexStringWithPrefixZeroPadded(id, 64);
    }

    static void log(String line) {
        System.out.println("[it] " + line);
        System.out.flush();
    }

    /**
     * Fulfil transactions mined from {@code oracleAddress} to the coordinator, by request id (a request fulfilled
     * twice, or a fulfilment that reverted because another one won, shows up as 2). Every transaction the node sends is
     * mined here (automine), so this counts what it SENT, independently of its own journal.
     */
    Map<BigInteger, Integer> fulfilTransactionsSent(String oracleAddress) throws IOException {
        String selector = org.web3j.crypto.Hash.sha3String(InferenceCoordinator.FUNC_FULFILL + "(uint256,"
                + "(address,bytes32,(bytes,int32)[],bytes,uint8,uint32,uint32,uint32,uint64,uint32,uint64,uint96,address,uint64),"
                + "bytes,bytes32)").substring(0, 10);
        Map<BigInteger, Integer> sent = new HashMap<>();
        long head = anvil.blockNumber().longValueExact();
        for (long n = deployment.deployBlock(); n <= head; n++) {
            var block = web3j().ethGetBlockByNumber(org.web3j.protocol.core.DefaultBlockParameter.valueOf(
                    BigInteger.valueOf(n)), true).send().getBlock();
            for (var result : block.getTransactions()) {
                var tx = (org.web3j.protocol.core.methods.response.Transaction) result.get();
                if (oracleAddress.equalsIgnoreCase(tx.getFrom()) && deployment.coordinator().equalsIgnoreCase(tx.getTo())
                        && tx.getInput().startsWith(selector)) {
                    sent.merge(Numeric.toBigInt(tx.getInput().substring(10, 74)), 1, Integer::sum);
                }
            }
        }
        return sent;
    }

    @Override
    public void close() {
        if (oracle2 != null) {
            oracle2.stop();
        }
        if (oracle != null) {
            oracle.stop();
        }
        if (rpcProxy != null) {
            rpcProxy.close();
        }
        if (ipfsProxy != null) {
            ipfsProxy.close();
        }
        if (ipfs != null) {
            ipfs.close();
        }
        anvil.close();
        deleteTree(dataDir);
    }

    private static void deleteTree(Path dir) {
        if (dir == null) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | UncheckedIOException ignored) {
            // temp leftovers are harmless
        }
    }
}
