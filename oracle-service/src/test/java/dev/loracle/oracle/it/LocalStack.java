package dev.loracle.oracle.it;

import dev.loracle.contracts.devchain.AnvilProcess;
import dev.loracle.contracts.devchain.Deployment;
import dev.loracle.contracts.devchain.DevAccounts;
import dev.loracle.contracts.devchain.DevChainDeployer;
import dev.loracle.contracts.devchain.TransactionManagers;
import dev.loracle.contracts.generated.InferenceCoordinator;
import dev.loracle.contracts.generated.StoryTeller;
import dev.loracle.ipfs.AddOptions;
import dev.loracle.ipfs.Cid;
import dev.loracle.ipfs.IpfsNodeProcess;
import dev.loracle.runtime.engine.AttachMode;
import dev.loracle.runtime.engine.BackendKind;
import dev.loracle.runtime.engine.EngineConfig;
import dev.loracle.runtime.engine.GenerationRequest;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.lora.PeftAdapter;
import dev.loracle.runtime.lora.ProjectionKind;
import dev.loracle.runtime.lora.WeightedAdapter;
import org.web3j.crypto.Credentials;
import org.web3j.protocol.core.methods.response.TransactionReceipt;
import org.web3j.tx.gas.StaticGasProvider;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The real local stack the integration tests share (started once per JVM, stopped at exit): an IPFS node with two
 * random-weight PEFT adapters for stories260K and a non-adapter file published, and the model files. Chains (Anvil +
 * deployed contracts) are made per test class since some tests need interval mining.
 */
public final class LocalStack {
    public static final Credentials OWNER = DevAccounts.get(0);
    public static final Credentials ORACLE = DevAccounts.get(1);
    public static final Credentials CONSUMER = DevAccounts.get(2);

    private static LocalStack instance;

    public final Path modelsDir = DevChainDeployer.modelsDir();
    public final Path model = modelsDir.resolve("llama2c/stories260K.bin");
    public final Path tokenizer = modelsDir.resolve("llama2c/tok512.bin");
    public final IpfsNodeProcess ipfs;
    public final Path work;
    /** Published adapters: CID -> local directory. */
    public final Map<Cid, Path> adapters = new LinkedHashMap<>();
    public final Cid notAnAdapter;
    public final Cid missing;

    private LocalStack() throws Exception {
        if (!Files.isRegularFile(model)) throw new IllegalStateException("model not found at " + model + " (set ORACLE_MODELS_DIR)");
        work = Files.createTempDirectory("loracle-oracle-it-");
        ipfs = IpfsNodeProcess.start();
        try (InferenceEngine engine = openEngine()) {
            for (int i = 0; i < 4; i++) {
                Path dir = work.resolve("adapter-" + i);
                PeftAdapter.randomForShape(engine.shape(), 4, 8f, Set.of(ProjectionKind.Q, ProjectionKind.V, ProjectionKind.O), 1000 + i)
                        .write(dir);
                adapters.put(ipfs.client().addDirectory(dir, AddOptions.defaults()).cid(), dir);
            }
        }
        Path garbage = work.resolve("not-an-adapter");
        Files.createDirectories(garbage);
        Files.writeString(garbage.resolve("adapter_config.json"), "{ this is not json");
        notAnAdapter = ipfs.client().addDirectory(garbage, AddOptions.defaults()).cid();
        missing = Cid.of(Cid.Codec.DAG_PB, MessageDigest.getInstance("SHA-256").digest("never published".getBytes(StandardCharsets.UTF_8)));
    }

    public static synchronized LocalStack get() throws Exception {
        if (instance == null) {
            instance = new LocalStack();
            LocalStack s = instance;
            Runtime.getRuntime().addShutdownHook(new Thread(s.ipfs::close));
        }
        return instance;
    }

    /** Publishes {@code count} more random adapters (benchmarks use many adapter sets). */
    public synchronized List<Cid> publishMore(int count, long seedBase) {
        List<Cid> out = new ArrayList<>();
        try (InferenceEngine engine = openEngine()) {
            for (int i = 0; i < count; i++) {
                Path dir = work.resolve("adapter-extra-" + seedBase + "-" + i);
                PeftAdapter.randomForShape(engine.shape(), 4, 8f, Set.of(ProjectionKind.Q, ProjectionKind.V, ProjectionKind.O), seedBase + i)
                        .write(dir);
                Cid cid = ipfs.client().addDirectory(dir, AddOptions.defaults()).cid();
                adapters.put(cid, dir);
                out.add(cid);
            }
        }
        return out;
    }

    public List<Cid> adapterCids() {
        return new ArrayList<>(adapters.keySet());
    }

    public InferenceEngine openEngine() {
        return InferenceEngine.open(EngineConfig.of(model).withTokenizer(tokenizer).withBackend(BackendKind.CPU));
    }

    /** The attach mode of the dev profile, which the test nodes run (their default). */
    static final AttachMode ATTACH_MODE = AttachMode.valueOf(dev.loracle.contracts.NumericProfile.DEV_DEFAULT.attach());

    /** What the runtime produces directly for these inputs (the oracle must deliver exactly this). */
    public String generateDirectly(List<Cid> cids, List<Integer> weights, String prompt, int maxTokens, int temperature, int topP, long seed) {
        try (InferenceEngine engine = openEngine()) {
            List<WeightedAdapter> loaded = new ArrayList<>();
            for (int i = 0; i < cids.size(); i++) {
                loaded.add(new WeightedAdapter(PeftAdapter.load(adapters.get(cids.get(i)), engine.adapterLoadOptions()), weights.get(i) / 10_000f));
            }
            return engine.generate(loaded, ATTACH_MODE, new GenerationRequest(prompt, maxTokens, temperature / 10_000f, topP / 10_000f, seed),
                    (t, p) -> { }).text();
        }
    }

    /** A fresh Anvil with the contracts deployed and {@link #ORACLE} registered. */
    public static final class Chain implements AutoCloseable {
        public final AnvilProcess anvil;
        public final Deployment deployment;
        public final InferenceCoordinator coordinator;
        public final StoryTeller storyTeller;

        public Chain(Integer blockTimeSeconds, LocalStack stack) throws Exception {
            this(blockTimeSeconds, stack, c -> c);
        }

        /** With a customised deployment (more oracles, exclusive window, story timeout). */
        public Chain(Integer blockTimeSeconds, LocalStack stack,
                     java.util.function.UnaryOperator<DevChainDeployer.Config> customise) throws Exception {
            AnvilProcess.Builder b = AnvilProcess.builder();
            if (blockTimeSeconds != null) b.blockTime(blockTimeSeconds);
            anvil = b.start();
            try {
                deployment = DevChainDeployer.deploy(anvil.web3j(), anvil.httpUrl(), anvil.wsUrl(), anvil.chainId(), OWNER,
                        customise.apply(DevChainDeployer.Config.defaults(DevChainDeployer.sha256(stack.model), List.of(ORACLE.getAddress()))));
                var tx = TransactionManagers.fastPolling(anvil.web3j(), CONSUMER, anvil.chainId());
                var gas = new StaticGasProvider(BigInteger.valueOf(2_000_000_000L), BigInteger.valueOf(12_000_000));
                coordinator = InferenceCoordinator.load(deployment.coordinator(), anvil.web3j(), tx, gas);
                storyTeller = StoryTeller.load(deployment.storyTeller(), anvil.web3j(), tx, gas);
            } catch (Exception e) {
                anvil.close();
                throw e;
            }
        }

        public byte[] modelId() {
            return org.web3j.utils.Numeric.hexStringToByteArray(deployment.modelId());
        }

        /** StoryTeller.tellStory from the consumer account; returns the coordinator's request id. */
        public BigInteger tellStory(List<Cid> cids, List<Integer> weights, String prompt, int maxTokens, long seed) throws Exception {
            List<InferenceCoordinator.Adapter> list = new ArrayList<>();
            List<StoryTeller.Adapter> styles = new ArrayList<>();
            for (int i = 0; i < cids.size(); i++) {
                styles.add(new StoryTeller.Adapter(cids.get(i).toBytes(), BigInteger.valueOf(weights.get(i))));
            }
            BigInteger fee = storyTeller.quoteStory(modelId(), BigInteger.valueOf(cids.size()), BigInteger.valueOf(maxTokens)).send();
            TransactionReceipt r = storyTeller.tellStory(modelId(), styles, prompt, BigInteger.valueOf(maxTokens), BigInteger.valueOf(seed), fee).send();
            if (!r.isStatusOK()) throw new IllegalStateException("tellStory reverted: " + r.getRevertReason());
            var events = InferenceCoordinator.getInferenceRequestedEvents(r);
            if (events.size() != 1) throw new IllegalStateException("expected one InferenceRequested in " + r.getTransactionHash());
            return events.getFirst().requestId;
        }

        @Override
        public void close() {
            anvil.close();
        }
    }
}
