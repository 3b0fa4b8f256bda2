package dev.loracle.contracts.devchain;

import dev.loracle.contracts.NumericProfile;

import dev.loracle.contracts.generated.InferenceCoordinator;
import dev.loracle.contracts.generated.StoryTeller;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.web3j.crypto.Credentials;
import org.web3j.crypto.Hash;
import org.web3j.crypto.WalletUtils;
import org.web3j.protocol.Web3j;
import org.web3j.protocol.core.methods.response.TransactionReceipt;
import org.web3j.protocol.http.HttpService;
import org.web3j.tx.TransactionManager;
import org.web3j.tx.gas.ContractGasProvider;
import org.web3j.tx.gas.StaticGasProvider;
import org.web3j.utils.Numeric;

/**
 * Deploys and configures the Loracle contracts on a chain: InferenceCoordinator (owned by the deployer), StoryTeller,
 * one registered model and the oracle set. {@link #main} is the dev-stack CLI; run with {@code --help}.
 */
public final class DevChainDeployer {
    /** Model name whose keccak256 is the default modelId. */
    public static final String DEFAULT_MODEL_NAME = "stories260K";
    /** Where the stories260K weights live inside the models directory. */
    public static final String DEFAULT_WEIGHTS_FILE = "llama2c/stories260K.bin";
    /** Gas settings for local chains: a fixed price above Anvil's base fee and a limit above any call here. */
    public static final ContractGasProvider DEV_GAS =
            new StaticGasProvider(BigInteger.valueOf(20_000_000_000L), BigInteger.valueOf(10_000_000L));

    private DevChainDeployer() {}

    /**
     * What to deploy.
     *
     * @param modelName hashed with keccak256 into the modelId
     * @param weightsHash 32-byte digest of the weights file
     * @param modelUri informational URI of the weights
     * @param baseFee wei per request
     * @param feePerToken wei per requested token
     * @param feePerAdapter wei per adapter
     * @param maxTokens largest maxTokens per request
     * @param oracles oracle addresses to register (at least one)
     * @param storyTimeoutSeconds seconds before a StoryTeller request may be cancelled
     * @param exclusiveWindowSeconds exclusive window of the assigned oracle; null keeps the contract default (60 s)
     * @param profile numeric profile registered with the model (what the oracles must run)
     * @param callbackGasPrice wei charged per unit of callback gas
     */
    public record Config(String modelName, byte[] weightsHash, String modelUri, BigInteger baseFee,
            BigInteger feePerToken, BigInteger feePerAdapter, long maxTokens, List<String> oracles,
            long storyTimeoutSeconds, Long exclusiveWindowSeconds, NumericProfile profile, BigInteger callbackGasPrice) {

        public Config {
            Objects.requireNonNull(modelName, "modelName");
            if (weightsHash == null || weightsHash.length != 32) {
                throw new IllegalArgumentException("weightsHash must be 32 bytes");
            }
            if (oracles == null || oracles.isEmpty()) {
                throw new IllegalArgumentException("at least one oracle address is needed");
            }
            for (String oracle : oracles) {
                if (!WalletUtils.isValidAddress(oracle)) {
                    throw new IllegalArgumentException("not an address: " + oracle);
                }
            }
            if (maxTokens < 1) {
                throw new IllegalArgumentException("maxTokens must be >= 1");
            }
            if (storyTimeoutSeconds < 1) {
                throw new IllegalArgumentException("storyTimeoutSeconds must be >= 1");
            }
            Objects.requireNonNull(profile, "profile");
            Objects.requireNonNull(callbackGasPrice, "callbackGasPrice");
            oracles = List.copyOf(oracles);
        }

        /** Defaults for the stories260K demo: small fees, 1 gwei per callback gas, 256 tokens, 1 h story timeout. */
        public static Config defaults(byte[] weightsHash, List<String> oracles) {
            return new Config(DEFAULT_MODEL_NAME, weightsHash, "hf://karpathy/tinyllamas/stories260K/stories260K.bin",
                    BigInteger.TEN.pow(15), BigInteger.TEN.pow(12), BigInteger.TEN.pow(14), 256, oracles, 3600, null,
                    NumericProfile.DEV_DEFAULT, BigInteger.TEN.pow(9));
        }

        /** Another model: its name (hashed into the modelId) and informational URI. */
        public Config withModel(String newModelName, String newModelUri) {
            return new Config(newModelName, weightsHash, newModelUri, baseFee, feePerToken, feePerAdapter, maxTokens,
                    oracles, storyTimeoutSeconds, exclusiveWindowSeconds, profile, callbackGasPrice);
        }

        public Config withProfile(NumericProfile newProfile) {
            return new Config(modelName, weightsHash, modelUri, baseFee, feePerToken, feePerAdapter, maxTokens,
                    oracles, storyTimeoutSeconds, exclusiveWindowSeconds, newProfile, callbackGasPrice);
        }

        public Config withOracles(List<String> newOracles) {
            return new Config(modelName, weightsHash, modelUri, baseFee, feePerToken, feePerAdapter, maxTokens,
                    newOracles, storyTimeoutSeconds, exclusiveWindowSeconds, profile, callbackGasPrice);
        }

        public Config withExclusiveWindow(Long seconds) {
            return new Config(modelName, weightsHash, modelUri, baseFee, feePerToken, feePerAdapter, maxTokens,
                    oracles, storyTimeoutSeconds, seconds, profile, callbackGasPrice);
        }

        public Config withStoryTimeout(long seconds) {
            return new Config(modelName, weightsHash, modelUri, baseFee, feePerToken, feePerAdapter, maxTokens,
                    oracles, seconds, exclusiveWindowSeconds, profile, callbackGasPrice);
        }

        /** keccak256(modelName). */
        public byte[] modelId() {
            return Hash.sha3(modelName.getBytes(StandardCharsets.UTF_8));
        }
    }

    /** Deploys the contract set with {@code owner} and returns where it is. */
    public static Deployment deploy(Web3j web3j, String rpcUrl, String wsUrl, long chainId, Credentials owner,
            Config config) throws Exception {
        TransactionManager tx = TransactionManagers.fastPolling(web3j, owner, chainId);
        InferenceCoordinator coordinator =
                InferenceCoordinator.deploy(web3j, tx, DEV_GAS, owner.getAddress()).send();
        TransactionReceipt deployReceipt = coordinator.getTransactionReceipt()
                .orElseThrow(() -> new IllegalStateException("no receipt for the coordinator deployment"));
        StoryTeller storyTeller = StoryTeller.deploy(web3j, tx, DEV_GAS, coordinator.getContractAddress(),
                BigInteger.valueOf(config.storyTimeoutSeconds())).send();

        requireSuccess(coordinator.registerModel(config.modelId(), config.weightsHash(), config.profile().toString(),
                config.modelUri(), config.baseFee(), config.feePerToken(), config.feePerAdapter(),
                config.callbackGasPrice(), BigInteger.valueOf(config.maxTokens())).send(), "registerModel");
        for (String oracle : config.oracles()) {
            requireSuccess(coordinator.addOracle(oracle).send(), "addOracle " + oracle);
        }
        if (config.exclusiveWindowSeconds() != null) {
            requireSuccess(coordinator.setLimits(coordinator.maxAdapters().send(), coordinator.maxPromptBytes().send(),
                    coordinator.maxCallbackGasLimit().send(), BigInteger.valueOf(config.exclusiveWindowSeconds()))
                    .send(), "setLimits");
        }
        return new Deployment(rpcUrl, wsUrl, chainId, coordinator.getContractAddress(),
                storyTeller.getContractAddress(), owner.getAddress(), config.oracles(), config.modelName(),
                Numeric.toHexString(config.modelId()), Numeric.toHexString(config.weightsHash()),
                deployReceipt.getBlockNumber().longValueExact());
    }

    private static void requireSuccess(TransactionReceipt receipt, String what) {
        if (!receipt.isStatusOK()) {
            throw new IllegalStateException(what + " reverted in tx " + receipt.getTransactionHash());
        }
    }

    /** sha256 of a file, the weights hash the coordinator registers. */
    public static byte[] sha256(Path file) {
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-256"))) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
            return ((DigestInputStream) in).getMessageDigest().digest();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot hash " + file, e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The models directory: -Dloracle.models.dir, env ORACLE_MODELS_DIR, else ../shared/models beside the repo. */
    public static Path modelsDir() {
        String property = System.getProperty("loracle.models.dir");
        if (property != null && !property.isBlank()) {
            return Path.of(property);
        }
        String env = System.getenv("ORACLE_MODELS_DIR");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        return AnvilProcess.repoRoot().resolve("../shared/models").normalize();
    }

    // ---------------------------------------------------------------- CLI

    /** CLI entry point; prints the deployment as one JSON line on stdout. */
    public static void main(String[] args) {
        try {
            run(CliOptions.parse(args));
        } catch (CliOptions.UsageException e) {
            System.err.println("error: " + e.getMessage());
            System.err.println(CliOptions.USAGE);
            System.exit(2);
        } catch (Exception e) {
            System.err.println("error: " + e.getMessage());
            System.exit(1);
        }
    }

    private static void run(CliOptions options) throws Exception {
        if (options.help()) {
            System.out.println(CliOptions.USAGE);
            return;
        }
        byte[] weightsHash = options.weightsHash() != null ? options.weightsHash() : defaultWeightsHash();
        AnvilProcess anvil = null;
        Web3j web3j;
        String rpcUrl;
        String wsUrl;
        if (options.rpcUrl() != null) {
            rpcUrl = options.rpcUrl();
            wsUrl = null;
            web3j = Web3j.build(new HttpService(rpcUrl));
        } else {
            AnvilProcess.Builder builder = AnvilProcess.builder().port(options.port());
            if (options.blockTime() != null) {
                builder.blockTime(options.blockTime());
            }
            anvil = builder.start(); // stops with the JVM (Ctrl-C / SIGTERM), also during the deployment
            web3j = anvil.web3j();
            rpcUrl = anvil.httpUrl();
            wsUrl = anvil.wsUrl();
        }
        try {
            long chainId = web3j.ethChainId().send().getChainId().longValueExact();
            Credentials owner = options.privateKey() != null
                    ? Credentials.create(options.privateKey()) : DevAccounts.get(0);
            List<String> oracles = options.oracles().isEmpty()
                    ? List.of(DevAccounts.get(1).getAddress()) : options.oracles();
            Config config = Config.defaults(weightsHash, oracles).withExclusiveWindow(options.exclusiveWindow())
                    .withProfile(options.profile());
            Deployment deployment = deploy(web3j, rpcUrl, wsUrl, chainId, owner, config);
            String json = deployment.toJson();
            if (options.outFile() != null) {
                Files.writeString(options.outFile(), json + "\n");
            }
            System.out.println(json);
            System.out.flush();
            if (anvil != null && options.keepRunning()) {
                System.err.println("anvil running at " + rpcUrl + " (pid " + anvil.pid() + "); Ctrl-C stops it");
                awaitShutdown(anvil);
            }
        } finally {
            if (anvil != null) {
                anvil.close();
            } else {
                web3j.shutdown();
            }
        }
    }

    private static byte[] defaultWeightsHash() {
        Path weights = modelsDir().resolve(DEFAULT_WEIGHTS_FILE);
        if (!Files.isRegularFile(weights)) {
            throw new IllegalStateException("no --weights-hash given and " + weights + " does not exist; set "
                    + "ORACLE_MODELS_DIR or pass --weights-hash 0x<64 hex>");
        }
        return sha256(weights);
    }

    /** Blocks until anvil exits; Ctrl-C / SIGTERM runs AnvilProcess's exit hook, which stops it. */
    private static void awaitShutdown(AnvilProcess anvil) throws InterruptedException {
        while (anvil.isAlive()) {
            Thread.sleep(500);
        }
        throw new IllegalStateException("anvil exited unexpectedly:\n" + anvil.logTail());
    }

    /** Parsed command line of {@link #main}. */
    record CliOptions(boolean help, String rpcUrl, int port, Integer blockTime, String privateKey,
            List<String> oracles, byte[] weightsHash, Long exclusiveWindow, Path outFile, boolean keepRunning,
            NumericProfile profile) {

        static final String USAGE = """
                usage: DevChainDeployer [options]
                  --rpc URL               deploy to this JSON-RPC endpoint instead of starting anvil
                  --port N                port for the anvil it starts (default 8545)
                  --block-time N          anvil mines a block every N seconds instead of per transaction
                  --private-key HEX       deployer/owner key (default: dev account 0)
                  --oracle ADDRESS        oracle to register; repeatable (default: dev account 1)
                  --weights-hash HEX      32-byte weights hash (default: sha256 of <models dir>/llama2c/stories260K.bin)
                  --exclusive-window N    seconds the assigned oracle has alone (default: contract default, 60)
                  --profile P             numeric profile the oracles run, quant=..;attach=..;kv=..
                                          (default quant=F32;attach=UNMERGED;kv=F32: stories260K as the node runs it)
                  --out FILE              also write the JSON to FILE
                  --keep-running          keep the started anvil running until Ctrl-C
                  --help                  this text
                Prints one JSON object: rpcUrl, wsUrl, chainId, coordinator, storyTeller, owner, oracles, modelName,
                modelId, weightsHash, deployBlock.""";

        static final class UsageException extends Exception {
            UsageException(String message) {
                super(message);
            }
        }

        static CliOptions parse(String[] args) throws UsageException {
            boolean help = false;
            boolean keepRunning = false;
            String rpcUrl = null;
            int port = 8545;
            Integer blockTime = null;
            String privateKey = null;
            List<String> oracles = new ArrayList<>();
            byte[] weightsHash = null;
            Long exclusiveWindow = null;
            Path outFile = null;
            NumericProfile profile = NumericProfile.DEV_DEFAULT;
            for (int i = 0; i < args.length; i++) {
                String arg = args[i];
                switch (arg) {
                    case "--help", "-h" -> help = true;
                    case "--keep-running" -> keepRunning = true;
                    case "--rpc" -> rpcUrl = value(args, ++i, arg);
                    case "--port" -> port = intValue(args, ++i, arg);
                    case "--block-time" -> blockTime = intValue(args, ++i, arg);
                    case "--private-key" -> privateKey = value(args, ++i, arg);
                    case "--oracle" -> {
                        String oracle = value(args, ++i, arg);
                        if (!WalletUtils.isValidAddress(oracle)) {
                            throw new UsageException("--oracle: not an address: " + oracle);
                        }
                        oracles.add(oracle);
                    }
                    case "--weights-hash" -> {
                        String hex = value(args, ++i, arg);
                        if (!hex.matches("(0x)?[0-9a-fA-F]{64}")) {
                            throw new UsageException("--weights-hash needs 32 bytes of hex, got " + hex);
                        }
                        weightsHash = Numeric.hexStringToByteArray(hex);
                    }
                    case "--exclusive-window" -> exclusiveWindow = (long) intValue(args, ++i, arg);
                    case "--out" -> outFile = Path.of(value(args, ++i, arg));
                    case "--profile" -> {
                        try {
                            profile = NumericProfile.parse(value(args, ++i, arg));
                        } catch (IllegalArgumentException e) {
                            throw new UsageException("--profile: " + e.getMessage());
                        }
                    }
                    default -> throw new UsageException("unknown option " + arg);
                }
            }
            if (keepRunning && rpcUrl != null) {
                throw new UsageException("--keep-running only applies to an anvil this command starts (no --rpc)");
            }
            return new CliOptions(help, rpcUrl, port, blockTime, privateKey, oracles, weightsHash, exclusiveWindow,
                    outFile, keepRunning, profile);
        }

        private static String value(String[] args, int index, String option) throws UsageException {
            if (index >= args.length) {
                throw new UsageException(option + " needs a value");
            }
            return args[index];
        }

        private static int intValue(String[] args, int index, String option) throws UsageException {
            String text = value(args, index, option);
            try {
                int parsed = Integer.parseInt(text);
                if (parsed < 0) {
                    throw new UsageException(option + " must not be negative, got " + text);
                }
                return parsed;
            } catch (NumberFormatException e) {
                throw new UsageException(option + " needs a number, got " + text);
            }
        }
    }
}
