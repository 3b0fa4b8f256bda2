package dev.loracle.runtime.engine;

import dev.loracle.runtime.chat.ChatTemplate;
import dev.loracle.runtime.lora.AdapterValidationException;
import dev.loracle.runtime.lora.LoraMath.WeightedTarget;
import dev.loracle.runtime.lora.LoraTarget;
import dev.loracle.runtime.lora.ModelShape;
import dev.loracle.runtime.lora.WeightedAdapter;
import dev.loracle.runtime.memory.MemoryBudget;
import dev.loracle.runtime.model.LlamaWeights;
import dev.loracle.runtime.model.LoadedModel;
import dev.loracle.runtime.model.ModelLoader;
import dev.loracle.runtime.tokenizer.Tokenizer;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A resident base model plus the adapter lifecycle: attach k weighted adapters (MERGED working copies or UNMERGED
 * low-rank terms), generate, detach (the base is never written; memory returns to the base figure).
 * Methods are synchronized: one attach/generate/detach at a time, one active attachment.
 */
public final class InferenceEngine implements AutoCloseable {
    private final EngineConfig config;
    private final LlamaWeights weights;
    private final Tokenizer tokenizer;
    private final Backend backend;
    private final Arena arena;
    private final String modelDescription;
    private final Optional<ChatTemplate> chatTemplate;
    private final AtomicLong ids = new AtomicLong();
    private Attachment active;
    private boolean closed;

    private InferenceEngine(EngineConfig config, LoadedModel model, Backend backend, Arena arena) {
        this.config = config;
        this.weights = model.weights();
        this.tokenizer = model.tokenizer();
        this.chatTemplate = model.chatTemplate();
        this.backend = backend;
        this.arena = arena;
        this.modelDescription = model.description();
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
        Backend backend = createBackend(cfg);
        try {
            backend.loadBase(model.weights());
        } catch (RuntimeException | Error e) {
            backend.close();
            throw e;
        }
        return new InferenceEngine(cfg, model, backend, owner);
    }

    private static final System.Logger LOG = System.getLogger(InferenceEngine.class.getName());

    static Backend createBackend(EngineConfig cfg) {
        Backend b = selectBackend(cfg);
        LOG.log(System.Logger.Level.INFO, "backend " + cfg.backend().name().toLowerCase() + ": using " + b.name() + " (" + b.description() + ")");
        return b;
    }

    private static Backend selectBackend(EngineConfig cfg) {
        if (cfg.backend() != BackendKind.CPU) {
            List<String> reasons = new ArrayList<>();
            for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) {
                if (cfg.backend() != BackendKind.AUTO && p.kind() != cfg.backend()) continue;
                String why = p.unavailableReason();
                if (why == null) {
                    String device = p.kind().name().toLowerCase() + ":0";
                    return p.create(cfg, new MemoryBudget(device, cfg.redLineBytes()));
                }
                reasons.add(p.kind() + ": " + why);
            }
            if (cfg.backend() != BackendKind.AUTO) {
                throw new IllegalStateException("backend " + cfg.backend() + " is not available"
                        + (reasons.isEmpty() ? " (no provider for it in this build)" : ": " + String.join("; ", reasons)));
            }
            LOG.log(System.Logger.Level.INFO, "backend auto: using CPU because "
                    + (reasons.isEmpty() ? "no other backend is installed" : String.join("; ", reasons)));
        }
        return new CpuBackend(cfg.threads(), cfg.dotMode(), new MemoryBudget("cpu", cfg.redLineBytes()));
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
    public int contextLength() { return weights.config().contextLength(); }
    public Backend backend() { return backend; }
    public synchronized Attachment activeAttachment() { return active; }

    /**
     * Attaches {@code adapters} (each with its weight) in one step. Everything is validated first (shapes against the
     * model, architecture, finite weights and matrices); then the backend builds working copies (MERGED) or low-rank
     * operands (UNMERGED), reserving their memory: crossing the red line throws RedLineExceededException and leaves
     * nothing attached.
     */
    public synchronized Attachment attach(List<WeightedAdapter> adapters, AttachMode mode) {
        ensureOpen();
        Objects.requireNonNull(mode, "mode");
        if (adapters == null || adapters.isEmpty()) throw new IllegalArgumentException("attach needs at least one adapter");
        if (active != null) throw new IllegalStateException("another attachment is active (" + active + "); detach it first");
        ModelShape shape = shape();
        Map<TensorId, List<WeightedTarget>> deltas = new TreeMap<>(Comparator.comparingInt(TensorId::layer).thenComparing(TensorId::kind));
        for (WeightedAdapter wa : adapters) {
            Objects.requireNonNull(wa, "adapter");
            wa.adapter().validateAgainst(shape);
            for (LoraTarget t : wa.adapter().targets()) {
                requireFinite(wa.adapter().id(), t);
                deltas.computeIfAbsent(new TensorId(t.layer(), t.kind()), k -> new ArrayList<>()).add(new WeightedTarget(t, wa.weight()));
            }
        }
        long t0 = System.nanoTime();
        String owner = "attachment-" + ids.incrementAndGet();
        WeightOverlay overlay = mode == AttachMode.MERGED ? backend.mergeInto(deltas, owner) : backend.lowRank(deltas, owner);
        active = new Attachment(ids.get(), mode, adapters, overlay, System.nanoTime() - t0);
        return active;
    }

    /**
     * Fast pass over the attach's critical path: x - x is 0 for a finite x and NaN otherwise, so the sum of the
     * differences is 0 exactly when every value is finite (the scalar scan then only runs to name the culprit).
     */
    private static boolean allFinite(MemorySegment m, long n) {
        if (!(m.isNative() || m.heapBase().orElse(null) instanceof byte[])) return false;
        var species = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED;
        var acc = jdk.incubator.vector.FloatVector.zero(species);
        long i = 0;
        for (long upper = n - n % species.length(); i < upper; i += species.length()) {
            var v = jdk.incubator.vector.FloatVector.fromMemorySegment(species, m, i * 4, java.nio.ByteOrder.LITTLE_ENDIAN);
            acc = acc.add(v.sub(v));
        }
        float sum = acc.reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
        for (; i < n; i++) {
            float f = m.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
            sum += f - f;
        }
        return sum == 0f;
    }

    private static void requireFinite(String adapterId, LoraTarget t) {
        if (!Float.isFinite(t.scale())) throw new AdapterValidationException("adapter " + adapterId + ": " + t.describe() + " has scale " + t.scale());
        checkFinite(adapterId, t, t.a(), "A");
        checkFinite(adapterId, t, t.b(), "B");
    }

    private static void checkFinite(String adapterId, LoraTarget t, MemorySegment m, String which) {
        long n = m.byteSize() / 4;
        if (allFinite(m, n)) return;
        for (long i = 0; i < n; i++) {
            float f = m.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
            if (!Float.isFinite(f)) {
                throw new AdapterValidationException("adapter " + adapterId + ": " + t.describe() + " matrix " + which
                        + " has a non-finite value (" + f + ") at element " + i);
            }
        }
    }

    /** Removes an attachment: working copies and reservations are dropped; the base was never written. Idempotent. */
    public synchronized void detach(Attachment a) {
        Objects.requireNonNull(a, "attachment");
        if (a.detached()) return;
        if (a != active) throw new IllegalArgumentException(a + " does not belong to this engine");
        try {
            backend.release(a.overlay);
        } finally {
            a.markDetached();
            active = null;
        }
    }

    /**
     * Generates from {@code req.prompt()} (BOS added) with {@code attachment} applied (null = base model), streaming
     * each token to {@code listener}. Stops at an end-of-generation token (EOS, EOT, EOM) or maxTokens. The KV cache for prompt + maxTokens positions is
     * reserved up front: a request that does not fit the context or the red line fails before any work.
     */
    public synchronized GenerationResult generate(Attachment attachment, GenerationRequest req, TokenListener listener) {
        ensureOpen();
        Objects.requireNonNull(req, "request");
        TokenListener out = listener != null ? listener : TokenListener.NONE;
        WeightOverlay overlay = overlayOf(attachment);
        int[] prompt = tokenizer.encodePrompt(req.prompt());
        if ((long) prompt.length + req.maxTokens() > contextLength()) {
            throw new ContextOverflowException(prompt.length, req.maxTokens(), contextLength());
        }
        Sampler sampler = new Sampler(req.temperature(), req.topP(), req.seed());
        int vocab = weights.config().vocabSize();
        List<Integer> generated = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        Utf8Accumulator utf8 = new Utf8Accumulator();
        StopReason stop = StopReason.MAX_TOKENS;
        long t0 = System.nanoTime(), t1;
        try (KvCache kv = backend.allocateKvCache(prompt.length + req.maxTokens(), config.kvCache())) {
            boolean greedy = req.temperature() == 0f;
            float[] logits = null;
            int next = -1;
            for (int i = 0; i < prompt.length - 1; i++) backend.forward(prompt[i], i, kv, overlay, false);
            int lastPos = prompt.length - 1;
            if (greedy) next = backend.forwardArgmax(prompt[lastPos], lastPos, kv, overlay);
            else logits = backend.forward(prompt[lastPos], lastPos, kv, overlay, true);
            t1 = System.nanoTime();
            int pos = prompt.length;
            int prev = prompt[prompt.length - 1];
            while (true) {
                if (!greedy) next = sampler.sample(logits, vocab);
                if (tokenizer.isEndOfGeneration(next) || next == tokenizer.bos()) {
                    stop = StopReason.EOS;
                    break;
                }
                generated.add(next);
                String piece = utf8.add(tokenizer.pieceBytes(prev, next));
                text.append(piece);
                out.onToken(next, piece);
                prev = next;
                if (generated.size() == req.maxTokens()) break;
                if (greedy) next = backend.forwardArgmax(next, pos++, kv, overlay);
                else logits = backend.forward(next, pos++, kv, overlay, true);
            }
        }
        String tail = utf8.flush();
        text.append(tail);
        long t2 = System.nanoTime();
        return new GenerationResult(text.toString(), generated.stream().mapToInt(Integer::intValue).toArray(), prompt.length,
                stop, t1 - t0, t2 - t1);
    }

    /** Logits after feeding {@code tokens} from position 0 (a copy), with {@code attachment} applied (null = base). */
    public synchronized float[] logits(Attachment attachment, int[] tokens) {
        ensureOpen();
        WeightOverlay overlay = overlayOf(attachment);
        if (tokens.length == 0 || tokens.length > contextLength()) throw new IllegalArgumentException("need 1.." + contextLength() + " tokens");
        try (KvCache kv = backend.allocateKvCache(tokens.length, config.kvCache())) {
            float[] l = null;
            for (int i = 0; i < tokens.length; i++) l = backend.forward(tokens[i], i, kv, overlay, i == tokens.length - 1);
            return l.clone();
        }
    }

    private WeightOverlay overlayOf(Attachment a) {
        if (a == null) return null;
        if (a.detached()) throw new IllegalStateException(a + " is detached");
        if (a != active) throw new IllegalArgumentException(a + " is not this engine's active attachment");
        return a.overlay;
    }

    /** SHA-256 of every base tensor, by GGUF name. */
    public synchronized Map<String, byte[]> baseTensorDigests() {
        ensureOpen();
        return new LinkedHashMap<>(backend.baseTensorDigests());
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("engine is closed");
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        if (active != null) detach(active);
        closed = true;
        backend.close();
        if (arena != null) arena.close();
    }
}
