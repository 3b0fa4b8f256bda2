package dev.loracle.runtime.engine;

import dev.loracle.runtime.chat.ChatTemplate;
import dev.loracle.runtime.lora.LoadOptions;
import dev.loracle.runtime.lora.ModelShape;
import dev.loracle.runtime.lora.WeightedAdapter;
import dev.loracle.runtime.memory.MemoryBudget;
import dev.loracle.runtime.model.LlamaWeights;
import dev.loracle.runtime.model.LoadedModel;
import dev.loracle.runtime.model.ModelLoader;
import dev.loracle.runtime.tokenizer.Tokenizer;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A resident base model serving many sequences at once: {@link #adapters()} keeps adapters resident (refcounted),
 * {@link #submit} queues a sequence with its own adapter set, sampling and limits, and a {@link Scheduler} thread runs
 * steps of continuous batching over the backend's {@link Backend#execute}. Thread-safe. The base is never written;
 * when nothing runs and no adapter is loaded, accounted memory equals the base figure.
 */
public final class InferenceEngine implements AutoCloseable {
    private final EngineConfig config;
    private final LlamaWeights weights;
    private final Tokenizer tokenizer;
    private final Backend backend;
    private final Arena arena;
    private final String modelDescription;
    private final AdapterStore adapters;
    private final MergedCopies mergedCopies;
    private final KvBlockPool kvBlocks;
    private final Scheduler scheduler;
    private final Thread schedulerThread;
    private final Optional<ChatTemplate> chatTemplate;
    private final LoadOptions adapterLoadOptions;
    private final AtomicLong ids = new AtomicLong();
    private volatile boolean closed;

    private InferenceEngine(EngineConfig config, LoadedModel model, Backend backend, Arena arena) {
        this.config = config;
        this.weights = model.weights();
        this.tokenizer = model.tokenizer();
        this.chatTemplate = model.chatTemplate();
        this.adapterLoadOptions = model.adapterLoadOptions();
        this.backend = backend;
        this.arena = arena;
        this.modelDescription = model.description();
        this.adapters = new AdapterStore(backend, weights.config().shape());
        this.mergedCopies = new MergedCopies(backend);
        this.kvBlocks = new KvBlockPool(backend.createKvStorage(config.kvCache()), backend.memory(), config.prefixCache());
        this.scheduler = new Scheduler(backend, kvBlocks, mergedCopies, tokenizer, config.stepTokens(), config.maxRunning());
        this.schedulerThread = Thread.ofPlatform().name("loracle-scheduler").daemon().start(scheduler);
    }

    /** Loads the model named by {@code cfg} (memory-mapped) and makes it resident on the chosen backend. */
    public static InferenceEngine open(EngineConfig cfg) {
        Objects.requireNonNull(cfg, "cfg");
        Arena arena = Arena.ofShared();
        try {
            LoadedModel m = ModelLoader.load(cfg.model(), cfg.tokenizer(), cfg.quant(), arena);
            return create(cfg, m, arena);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** An engine over already loaded weights (e.g. a random-weight model); {@code owner} (may be null) is closed with it. */
    public static InferenceEngine create(EngineConfig cfg, LoadedModel model, Arena owner) {
        return create(cfg, model, BackendSelection.create(cfg), owner);
    }

    /** An engine on a backend the caller made (tests run the CUDA backend's code on its host emulation this way). */
    public static InferenceEngine create(EngineConfig cfg, LoadedModel model, Backend backend, Arena owner) {
        try {
            backend.loadBase(model.weights());
            return new InferenceEngine(cfg, model, backend, owner);
        } catch (RuntimeException | Error e) {
            backend.close();
            throw e;
        }
    }

    public EngineConfig config() { return config; }
    public ModelShape shape() { return weights.config().shape(); }
    public LlamaWeights weights() { return weights; }
    public String backendName() { return backend.name(); }
    public String backendDescription() { return backend.description(); }
    public String modelDescription() { return modelDescription; }
    public MemoryBudget memory() { return backend.memory(); }
    public Tokenizer tokenizer() { return tokenizer; }
    /** The model's chat template (from its GGUF), empty when the file has none. */
    public Optional<ChatTemplate> chatTemplate() { return chatTemplate; }
    /** How to load a PEFT adapter for this base (Q/K permutation applied where the base's converter permuted). */
    public LoadOptions adapterLoadOptions() { return adapterLoadOptions; }
    public int contextLength() { return weights.config().contextLength(); }
    public Backend backend() { return backend; }

    /** The resident adapter store: {@code adapters().load(adapter)} returns a refcounted handle. */
    public AdapterStore adapters() { return adapters; }

    /**
     * What the KV rows depend on besides the adapter set and the tokens: the backend and the model as loaded (prefix
     * hashes and KV snapshots are only shared between engines with the same profile).
     */
    public String modelProfile() { return backend.name() + "|" + modelDescription; }

    /** The KV prefix cache now (all zero when {@link EngineConfig#prefixCache()} is off). */
    public PrefixCacheStats prefixCache() { return kvBlocks.stats(); }

    /** Frees every cached KV block no sequence uses (accounted memory returns to the base when nothing runs); returns how many. */
    public int dropPrefixCache() { return kvBlocks.dropCache(); }

    /**
     * Backend, dot-product mode, KV cache type, how the backend multiplies the base weights and the KV kernel version:
     * KV rows are only exchanged between engines that agree on it.
     */
    public String numericProfile() {
        return backend.name() + ";dot=" + config.dotMode().name().toLowerCase() + ";kv=" + config.kvCache().name().toLowerCase()
                + ";weights=" + backend.weightNumerics() + ";kv-kernels=3";
    }

    /** The root of the prefix hash chain of sequences run with {@code set} in {@code mode} (empty set = base). */
    public BlockHash prefixRoot(List<AdapterWeight> set, AttachMode mode) {
        List<BlockHash.AdapterIdentity> identity = new ArrayList<>();
        for (AdapterWeight w : SequenceRequest.of(GenerationRequest.greedy("", 1)).withAdapters(set).adapters()) {
            identity.add(new BlockHash.AdapterIdentity(w.adapter().entry.contentDigest, w.weight()));
        }
        return BlockHash.root(modelProfile(), config.kvCache(), mode, identity);
    }

    /** Bytes of one KV block (16 positions x all layers) in this engine's cache format. */
    public long kvBlockBytes() { return kvBlocks.storage().blockBytes(); }

    /** Rows of the cached KV blocks with these hashes, in order (the cache's own format); empty when one is not cached. */
    public Optional<List<byte[]>> cachedKvBlocks(List<BlockHash> hashes) {
        return Optional.ofNullable(kvBlocks.readCached(hashes));
    }

    /** How many of {@code hashes} (a prefix hash chain), from the first, are in the prefix cache now. */
    public int cachedKvPrefixBlocks(List<BlockHash> hashes) { return kvBlocks.cachedPrefix(hashes); }

    /** Adds blocks to the prefix cache (those already cached are kept); evicts unused ones for room. Returns the count written. */
    public int importKvBlocks(List<BlockHash> hashes, List<byte[]> rows) {
        if (hashes.size() != rows.size()) throw new IllegalArgumentException(hashes.size() + " hashes for " + rows.size() + " blocks");
        return kvBlocks.importBlocks(hashes, rows);
    }

    /** Drops unused cached blocks with these hashes (rows that failed a check). */
    public void forgetKvBlocks(List<BlockHash> hashes) { kvBlocks.forget(hashes); }

    /**
     * Computes the rows of the last block of {@code tokens} (a whole number of blocks) afresh, over the cached blocks
     * before it, with {@code set} in {@code mode}: how imported rows are spot-checked.
     */
    public byte[] recomputeLastKvBlock(int[] tokens, List<AdapterWeight> set, AttachMode mode) {
        if (tokens.length == 0 || tokens.length % KvBlockStorage.BLOCK_POSITIONS != 0) {
            throw new IllegalArgumentException("need a whole number of blocks, got " + tokens.length + " tokens");
        }
        byte[][] out = new byte[1][];
        SequenceRequest req = SequenceRequest.of(GenerationRequest.greedy("", 1)).withPromptTokens(tokens).withIgnoreEos(true)
                .withAdapters(set).withMode(mode);
        Sequence s = submit(req, null, rows -> out[0] = rows);
        await(s);
        return out[0];
    }

    /** Steps run so far (for tools and tests). */
    public long steps() { return scheduler.steps(); }

    /**
     * Queues a sequence and returns at once. Bad requests (prompt plus maxTokens beyond the context, a closed adapter
     * handle, a token outside the vocabulary) throw here; refused admission and failures complete the future.
     */
    public Sequence submit(SequenceRequest req) { return submit(req, null); }

    Sequence submit(SequenceRequest req, Consumer<float[]> logitsSink) { return submit(req, logitsSink, null); }

    private Sequence submit(SequenceRequest req, Consumer<float[]> logitsSink, Consumer<byte[]> lastBlockSink) {
        ensureOpen();
        Objects.requireNonNull(req, "request");
        int[] prompt = req.promptTokens() != null ? req.promptTokens() : encode(req.params().prompt());
        int vocab = weights.config().vocabSize();
        for (int t : prompt) if (t < 0 || t >= vocab) throw new IllegalArgumentException("prompt token " + t + " outside vocabulary of " + vocab);
        if ((long) prompt.length + req.params().maxTokens() > contextLength()) {
            throw new ContextOverflowException(prompt.length, req.params().maxTokens(), contextLength());
        }
        List<ResidentAdapter> refs = new ArrayList<>();
        List<AdapterBinding.LowRankMember> members = new ArrayList<>();
        List<BlockHash.AdapterIdentity> identity = new ArrayList<>();
        try {
            for (AdapterWeight w : req.adapters()) {
                ResidentAdapter ref = w.adapter().share();
                refs.add(ref); // released below if the request is refused
                if (!adapters.owns(ref)) throw new IllegalArgumentException("adapter " + ref.id() + " was loaded by another engine");
                members.add(new AdapterBinding.LowRankMember(ref.device(), w.weight()));
                identity.add(new BlockHash.AdapterIdentity(ref.entry.contentDigest, w.weight()));
            }
        } catch (RuntimeException e) {
            refs.forEach(ResidentAdapter::close);
            throw e;
        }
        Sequence handle = new Sequence(ids.incrementAndGet(), scheduler::signal);
        SequenceState s = new SequenceState(handle, req, prompt, refs);
        s.binding = members.isEmpty() ? AdapterBinding.BASE : new AdapterBinding.LowRank(members);
        s.logitsSink = logitsSink;
        s.lastBlockSink = lastBlockSink;
        if (config.prefixCache()) s.prefixRoot = BlockHash.root(modelProfile(), config.kvCache(), req.mode(), identity);
        try {
            scheduler.submit(s);
        } catch (RuntimeException e) {
            s.release();
            throw e;
        }
        return handle;
    }

    private int[] encode(String prompt) {
        if (tokenizer == null) throw new IllegalStateException("this model has no tokenizer: submit prompt token ids");
        return tokenizer.encodePrompt(prompt);
    }

    /** Convenience: loads {@code adapters}, runs one sequence with them, waits, releases them. */
    public GenerationResult generate(List<WeightedAdapter> adapters, AttachMode mode, GenerationRequest req, TokenListener listener) {
        List<AdapterWeight> set = new ArrayList<>();
        try {
            for (WeightedAdapter w : adapters) set.add(new AdapterWeight(this.adapters.load(w.adapter()), w.weight()));
            return await(submit(SequenceRequest.of(req).withAdapters(set).withMode(mode).withListener(listener)));
        } finally {
            set.forEach(w -> w.adapter().close());
        }
    }

    // ------------------------------------------------------------------ the single-set API, over the store

    /**
     * Makes {@code adapters} resident as one set: validated (shapes, architecture, finite values), uploaded once, and
     * for MERGED merged now into a shared copy. Crossing the red line throws RedLineExceededException and holds nothing.
     */
    public Attachment attach(List<WeightedAdapter> adapters, AttachMode mode) {
        ensureOpen();
        Objects.requireNonNull(mode, "mode");
        if (adapters == null || adapters.isEmpty()) throw new IllegalArgumentException("attach needs at least one adapter");
        long t0 = System.nanoTime();
        List<AdapterWeight> set = new ArrayList<>();
        try {
            for (WeightedAdapter w : adapters) set.add(new AdapterWeight(this.adapters.load(Objects.requireNonNull(w, "adapter").adapter()), w.weight()));
            List<AdapterWeight> canonical = SequenceRequest.of(GenerationRequest.greedy("", 1)).withAdapters(set).adapters();
            MergedCopies.Handle merged = mode == AttachMode.MERGED ? mergedCopies.acquire(canonical) : null;
            return new Attachment(ids.incrementAndGet(), mode, adapters, set, merged, System.nanoTime() - t0);
        } catch (RuntimeException | Error e) {
            set.forEach(w -> w.adapter().close());
            throw e;
        }
    }

    /** Drops the attachment's references (a running sequence keeps its own until it ends). Idempotent. */
    public void detach(Attachment a) {
        Objects.requireNonNull(a, "attachment");
        if (!a.markDetached()) return;
        if (a.merged != null) a.merged.close();
        a.resident.forEach(w -> w.adapter().close());
    }

    /**
     * Generates from {@code req.prompt()} (BOS added when the vocabulary asks for it) with {@code attachment} (null = base
     * model) and waits; stops at an end-of-generation token (EOS, EOT, EOM) or maxTokens.
     */
    public GenerationResult generate(Attachment attachment, GenerationRequest req, TokenListener listener) {
        return await(submit(requestFor(attachment, SequenceRequest.of(req).withListener(listener))));
    }

    /** Logits after feeding {@code tokens} from position 0 (a copy), with {@code attachment} applied (null = base). */
    public float[] logits(Attachment attachment, int[] tokens) {
        if (tokens.length == 0 || tokens.length > contextLength() - 1) throw new IllegalArgumentException("need 1.." + (contextLength() - 1) + " tokens");
        float[][] out = new float[1][];
        SequenceRequest req = requestFor(attachment, SequenceRequest.of(GenerationRequest.greedy("", 1)).withPromptTokens(tokens));
        await(submit(req, l -> out[0] = l));
        return out[0];
    }

    private static SequenceRequest requestFor(Attachment a, SequenceRequest req) {
        if (a == null) return req;
        if (a.detached()) throw new IllegalStateException(a + " is detached");
        return req.withAdapters(a.resident).withMode(a.mode());
    }

    /** Waits for a sequence; its failure is rethrown as it was raised (RedLineExceededException, ...). */
    static GenerationResult await(Sequence s) {
        try {
            return s.result().get();
        } catch (InterruptedException e) {
            s.cancel();
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted while waiting for " + s);
        } catch (ExecutionException | CompletionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException r) throw r;
            if (c instanceof Error err) throw err;
            throw new IllegalStateException(c);
        }
    }

    /** SHA-256 of every base tensor, by GGUF name. */
    public Map<String, byte[]> baseTensorDigests() {
        ensureOpen();
        return new LinkedHashMap<>(backend.baseTensorDigests());
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("engine is closed");
    }

    /** Stops the scheduler (queued and running sequences fail with "engine is closed") and frees everything. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        scheduler.stop();
        try {
            schedulerThread.join(60_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        kvBlocks.close();
        backend.close();
        if (arena != null) arena.close();
    }
}
