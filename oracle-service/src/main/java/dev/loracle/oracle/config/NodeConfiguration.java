package dev.loracle.oracle.config;

import dev.loracle.ipfs.AdapterCache;
import dev.loracle.ipfs.FetchLimits;
import dev.loracle.ipfs.IpfsEndpoint;
import dev.loracle.ipfs.IpfsEndpoints;
import dev.loracle.ipfs.ResilienceSettings;
import dev.loracle.ipfs.VerifiedFetcher;
import dev.loracle.oracle.chain.ChainIngestor;
import dev.loracle.oracle.chain.CoordinatorClient;
import dev.loracle.oracle.chain.OracleKey;
import dev.loracle.oracle.chain.RpcGateway;
import dev.loracle.oracle.chain.TransactionManager;
import dev.loracle.oracle.journal.IngestionStore;
import dev.loracle.oracle.metrics.WalletMetrics;
import dev.loracle.oracle.journal.RequestJournal;
import dev.loracle.oracle.journal.TxJournal;
import dev.loracle.contracts.NumericProfile;
import dev.loracle.contracts.ResultCommitment;
import dev.loracle.oracle.pipeline.AdapterService;
import dev.loracle.oracle.pipeline.BatchedGenerator;
import dev.loracle.oracle.pipeline.Generator;
import dev.loracle.oracle.pipeline.EngineChatTemplate;
import dev.loracle.oracle.pipeline.PromptRenderer;
import dev.loracle.oracle.journal.SessionJournal;
import dev.loracle.oracle.session.SessionHistory;
import dev.loracle.oracle.session.SessionServing;
import dev.loracle.oracle.session.TurnGate;
import dev.loracle.oracle.session.snapshot.KvSnapshotExchange;
import dev.loracle.oracle.pipeline.RequestPipeline;
import dev.loracle.oracle.runtime.RuntimeService;
import dev.loracle.runtime.engine.AttachMode;
import dev.loracle.runtime.engine.BackendKind;
import dev.loracle.runtime.engine.EngineConfig;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.engine.KvCacheType;
import dev.loracle.runtime.model.WeightFormat;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.github.resilience4j.ratelimiter.RateLimiterRegistry;
import io.github.resilience4j.retry.RetryRegistry;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.web3j.crypto.Hash;
import org.web3j.utils.Numeric;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Builds the node's parts from {@link OracleProperties}; each start-up problem fails fast with the key to fix. */
@Configuration(proxyBeanMethods = false)
public class NodeConfiguration {
    private static final Logger log = LoggerFactory.getLogger(NodeConfiguration.class);

    /**
     * Resolved model identity: the on-chain ids served (the first is the API's), the weights hash and the numeric
     * profile committed to in results.
     */
    public record ModelIdentity(String name, List<String> modelIds, byte[] weightsHash, NumericProfile profile) {
        public String modelId() {
            return modelIds.getFirst();
        }

        public String weightsHashHex() {
            return Numeric.toHexString(weightsHash);
        }

        public ResultCommitment.ModelBinding binding() {
            return new ResultCommitment.ModelBinding(weightsHash, profile.toString());
        }
    }

    @Bean(destroyMethod = "close")
    InferenceEngine inferenceEngine(OracleProperties props) {
        OracleProperties.Model m = props.model();
        Path model = Path.of(m.path());
        if (!Files.isRegularFile(model)) {
            throw new IllegalStateException("loracle.model.path " + model.toAbsolutePath()
                    + " does not exist (set ORACLE_MODELS_DIR or loracle.model.path)");
        }
        EngineConfig cfg = EngineConfig.of(model)
                .withQuant(WeightFormat.parse(m.quant()))
                .withBackend(BackendKind.parse(m.backend()));
        if (!m.tokenizerPath().isBlank()) {
            Path tok = Path.of(m.tokenizerPath());
            if (!Files.isRegularFile(tok)) throw new IllegalStateException("loracle.model.tokenizer-path " + tok.toAbsolutePath() + " does not exist");
            cfg = cfg.withTokenizer(tok);
        }
        if (m.threads() > 0) cfg = cfg.withThreads(m.threads());
        if (m.redLineBytes() > 0) cfg = cfg.withRedLineBytes(m.redLineBytes());
        cfg = cfg.withPrefixCache(m.prefixCache()).withKvCache(KvCacheType.parse(m.kvCache()));
        InferenceEngine engine = InferenceEngine.open(cfg);
        log.info("model {} loaded on {} ({}); base memory {} bytes", model.getFileName(), engine.backendName(),
                engine.backendDescription(), engine.memory().baseBytes());
        return engine;
    }

    @Bean(destroyMethod = "close")
    RuntimeService runtimeService(InferenceEngine engine, OracleProperties props, MeterRegistry meters) {
        RuntimeService runtime = new RuntimeService(engine, AttachMode.valueOf(props.model().attachMode()), props.model().name(), meters);
        Gauge.builder("loracle.adapters.resident.bytes", runtime, RuntimeService::adapterResidentBytes).register(meters);
        Gauge.builder("loracle.runtime.memory.used.bytes", engine, e -> e.memory().used()).register(meters);
        Gauge.builder("loracle.runtime.memory.base.bytes", engine, e -> e.memory().baseBytes()).register(meters);
        Gauge.builder("loracle.runtime.memory.redline.bytes", engine, e -> e.memory().redLine()).register(meters);
        return runtime;
    }

    /** IPFS RPC endpoints in failover order, each with its retry and circuit breaker (ipfs module). */
    @Bean(destroyMethod = "close")
    IpfsEndpoints ipfsEndpoints(OracleProperties props) {
        OracleProperties.Ipfs ipfs = props.ipfs();
        List<IpfsEndpoint> endpoints = new ArrayList<>();
        for (int i = 0; i < ipfs.apiUrls().size(); i++) endpoints.add(IpfsEndpoint.rpc("ipfs-" + i, URI.create(ipfs.apiUrls().get(i))));
        ResilienceSettings resilience = ResilienceSettings.defaults().withNodeTimeout(ipfs.fetchTimeout())
                .withAttemptTimeout(ipfs.fetchTimeout().plusSeconds(10))
                .withBreaker(10, 4, ipfs.breakerOpenDuration());
        return IpfsEndpoints.of(endpoints, resilience);
    }

    @Bean(destroyMethod = "close")
    AdapterCache adapterCache(OracleProperties props, IpfsEndpoints endpoints) throws IOException {
        OracleProperties.Ipfs ipfs = props.ipfs();
        VerifiedFetcher fetcher = VerifiedFetcher.builder().endpoints(endpoints)
                .limits(FetchLimits.ofMaxContentBytes(ipfs.maxAdapterBytes())).build();
        Path cacheDir = Path.of(ipfs.cacheDir());
        Files.createDirectories(cacheDir);
        return AdapterCache.builder().directory(cacheDir).maxDiskBytes(ipfs.maxDiskBytes())
                .maxMemoryBytes(ipfs.maxMemoryBytes()).fetcher(fetcher).build();
    }

    @Bean
    AdapterService adapterService(AdapterCache cache, InferenceEngine engine, OracleProperties props, MeterRegistry meters) {
        Gauge.builder("loracle.adapter.cache.hits", cache, c -> c.stats().hits()).register(meters);
        Gauge.builder("loracle.adapter.cache.misses", cache, c -> c.stats().misses()).register(meters);
        Gauge.builder("loracle.adapter.cache.disk.bytes", cache, c -> c.stats().diskBytes()).register(meters);
        return new AdapterService(cache, engine.shape(), engine.adapterLoadOptions(), props.ipfs().maxAdapterBytes(), props.ipfs().maxParsedBytes(), meters);
    }

    // ------------------------------------------------------------------ chain (absent when loracle.chain.enabled=false)

    @Bean(destroyMethod = "close")
    RpcGateway rpcGateway(OracleProperties props, RetryRegistry retries, CircuitBreakerRegistry breakers,
                          RateLimiterRegistry limiters, MeterRegistry meters) {
        return props.chain().enabled() ? new RpcGateway(props.chain(), retries, breakers, limiters, meters) : null;
    }

    @Bean
    TransactionManager oracleTransactions(OracleProperties props, ObjectProvider<RpcGateway> rpc, TxJournal txs, Clock clock,
                                          MeterRegistry meters) {
        if (!props.chain().enabled()) return null;
        OracleKey key = OracleKey.load(props.key());
        log.info("oracle address {}", key.address());
        return new TransactionManager(rpc.getObject(), key, props.chain().coordinatorAddress(), txs, props.tx(),
                props.chain().txConfirmations(), clock, meters);
    }

    @Bean
    CoordinatorClient coordinatorClient(ObjectProvider<TransactionManager> tx) {
        TransactionManager t = tx.getIfAvailable();
        return t == null ? null : new CoordinatorClient(t);
    }

    @Bean
    WalletMetrics walletMetrics(ObjectProvider<CoordinatorClient> chain, MeterRegistry meters) {
        CoordinatorClient c = chain.getIfAvailable();
        return c == null ? null : new WalletMetrics(c, meters);
    }

    @Bean
    ModelIdentity modelIdentity(OracleProperties props, InferenceEngine engine, ObjectProvider<CoordinatorClient> coordinator) {
        OracleProperties.Model m = props.model();
        List<String> ids = new ArrayList<>();
        ids.add(m.id().isBlank() ? Hash.sha3String(m.name()) : m.id().toLowerCase());
        m.additionalIds().stream().map(String::toLowerCase).filter(id -> !ids.contains(id)).forEach(ids::add);
        NumericProfile profile = new NumericProfile(engine.weights().layers().getFirst().wq().type().name(), m.attachMode(),
                engine.config().kvCache().name());
        byte[] configured = m.weightsHash().isBlank() ? null : Numeric.hexStringToByteArray(m.weightsHash());
        CoordinatorClient chain = coordinator.getIfAvailable();
        byte[] hash;
        if (chain != null) {
            long t0 = System.nanoTime();
            hash = sha256(Path.of(m.path()));
            log.info("model file hashed in {} ms", (System.nanoTime() - t0) / 1_000_000);
            if (configured != null && !Arrays.equals(configured, hash)) {
                throw new IllegalStateException("the model file " + m.path() + " has sha256 " + Numeric.toHexString(hash)
                        + ", not loracle.model.weights-hash " + m.weightsHash());
            }
            for (String id : ids) checkRegistration(chain, props, id, hash, profile);
        } else {
            hash = configured != null ? configured : sha256(Path.of(m.path()));
        }
        log.info("serving model {} (modelIds {}, weights hash {}, profile {})", m.name(), ids, Numeric.toHexString(hash), profile);
        return new ModelIdentity(m.name(), List.copyOf(ids), hash, profile);
    }

    /** Refuses to start when the coordinator does not register {@code modelId} with exactly this file and profile. */
    private static void checkRegistration(CoordinatorClient chain, OracleProperties props, String modelId, byte[] fileHash,
                                          NumericProfile profile) {
        CoordinatorClient.RegisteredModel registered = chain.model(modelId);
        if (registered == null) {
            throw new IllegalStateException("model " + props.model().name() + " (modelId " + modelId + ") is not registered on coordinator "
                    + props.chain().coordinatorAddress() + "; check loracle.model.name / loracle.model.id / loracle.model.additional-ids");
        }
        if (!Arrays.equals(registered.weightsHash(), fileHash)) {
            throw new IllegalStateException("modelId " + modelId + " is registered with weights hash "
                    + Numeric.toHexString(registered.weightsHash()) + " but the model file " + props.model().path()
                    + " has sha256 " + Numeric.toHexString(fileHash) + ": this node runs other weights and would only produce"
                    + " results the coordinator rejects");
        }
        if (!registered.profile().equals(profile.toString())) {
            throw new IllegalStateException("modelId " + modelId + " is registered with numeric profile '" + registered.profile()
                    + "' but this node runs '" + profile + "' (loracle.model.quant / attach-mode): its outputs would not be"
                    + " reproducible by verifiers");
        }
    }

    private static byte[] sha256(Path file) {
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-256"))) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
            return ((DigestInputStream) in).getMessageDigest().digest();
        } catch (Exception e) {
            throw new IllegalStateException("cannot hash model file " + file + ": " + e.getMessage(), e);
        }
    }

    /** The seam to the engine: every request a sequence of the continuous batch, with its own adapter set. */
    @Bean(destroyMethod = "close")
    Generator generator(RuntimeService runtime, InferenceEngine engine, OracleProperties props, MeterRegistry meters) {
        int maxActive = props.scheduler().maxActiveSequences();
        return new BatchedGenerator(runtime, maxActive > 0 ? maxActive : engine.config().maxRunning(), meters);
    }

    /** Prompt checks and rendering; CHAT prompts go through the model's chat template (none in the file: MODEL_UNAVAILABLE). */
    @Bean
    PromptRenderer promptRenderer(RuntimeService runtime) {
        return new PromptRenderer(runtime, EngineChatTemplate.of(runtime));
    }

    /**
     * Session turns (with the chain only): history rebuilt from chain data, waiting turns parked until an earlier turn
     * ends, KV snapshots through the {@link KvSnapshotExchange} bean when there is one (else none are exchanged).
     */
    @Bean(destroyMethod = "")
    SessionServing sessionServing(ObjectProvider<CoordinatorClient> chain, SessionJournal sessions, RequestJournal journal,
                                  InferenceEngine engine, ModelIdentity model, ObjectProvider<KvSnapshotExchange> snapshots,
                                  OracleProperties props, Clock clock, MeterRegistry meters) {
        CoordinatorClient c = chain.getIfAvailable();
        if (c == null) return null;
        SessionHistory history = new SessionHistory(sessions, journal, c, engine.tokenizer(), model.binding().profile(), meters);
        TurnGate gate = new TurnGate(sessionTimers, clock, props.scheduler().deadlineMargin());
        Gauge.builder("loracle.session.turns.waiting", gate, TurnGate::parkedCount).register(meters);
        return new SessionServing(sessions, history, gate, snapshots.getIfAvailable(KvSnapshotExchange::disabled), c, meters);
    }

    /** Deadline timers of parked session turns. */
    private final java.util.concurrent.ScheduledExecutorService sessionTimers =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("session-turns").daemon().factory());

    @jakarta.annotation.PreDestroy
    void stopSessionTimers() {
        sessionTimers.shutdownNow();
    }

    @Bean(destroyMethod = "close")
    RequestPipeline requestPipeline(RequestJournal journal, TxJournal txJournal, AdapterService adapters, RuntimeService runtime,
                                    PromptRenderer prompts, Generator generator, ObjectProvider<CoordinatorClient> chain,
                                    ModelIdentity model, OracleProperties props, Clock clock, MeterRegistry meters,
                                    ObjectProvider<SessionServing> sessions) {
        return new RequestPipeline(journal, txJournal, adapters, runtime, prompts, generator, chain.getIfAvailable(),
                model.binding(), java.util.Set.copyOf(model.modelIds()), props.scheduler(), clock, meters,
                sessions.getIfAvailable());
    }

    @Bean
    ChainIngestor chainIngestor(OracleProperties props, ObjectProvider<RpcGateway> rpc, RequestJournal journal,
                                IngestionStore store, RequestPipeline pipeline, MeterRegistry meters,
                                ObjectProvider<CoordinatorClient> chain, SessionJournal sessions) {
        if (!props.chain().enabled()) return null;
        return new ChainIngestor(rpc.getObject(), journal, store, pipeline, props.chain(), meters, chain.getObject().oracleActivity(),
                sessions);
    }
}
