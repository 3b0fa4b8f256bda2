package dev.loracle.oracle.runtime;

import dev.loracle.runtime.engine.AdapterWeight;
import dev.loracle.runtime.engine.AttachMode;
import dev.loracle.runtime.engine.GenerationRequest;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.engine.ResidentAdapter;
import dev.loracle.runtime.engine.Sequence;
import dev.loracle.runtime.engine.SequenceRequest;
import dev.loracle.runtime.engine.TokenListener;
import dev.loracle.runtime.lora.ModelShape;
import dev.loracle.runtime.lora.WeightedAdapter;
import dev.loracle.runtime.memory.MemoryBudget;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/**
 * The node's engine and the adapter references its requests hold. A request takes a reference to each of its adapters
 * in the engine's refcounted store when it starts ({@link #hold}) and keeps them until it is released (confirmed
 * on-chain, delivered, or failed); an adapter named by many requests is uploaded once and freed with its last
 * reference, so with nothing held the accounted memory is the base figure exactly. Every sequence runs in the node's
 * attach mode, the one its registered numeric profile names (so {@code verify} re-executes it the same way).
 */
public class RuntimeService implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RuntimeService.class);

    /** Told which requests' adapter references have been dropped. */
    public interface UnloadListener {
        void onUnloaded(List<String> requestIds);
    }

    /** The adapter references of one request. */
    private record Held(String setKey, List<String> cids, List<AdapterWeight> adapters) {
    }

    public record Status(String backend, String model, long baseBytes, long usedBytes, long redLineBytes, int residentAdapters,
                         List<String> residentAdapterCids, int residentUsers, String attachMode) {
    }

    private final InferenceEngine engine;
    private final AttachMode mode;
    private final String modelName;
    private final MeterRegistry meters;
    private final Timer attachLatency;
    private final Timer detachLatency;
    private final Map<String, Held> held = new HashMap<>();
    /** Per adapter held by some request: its resident-bytes gauge, removed when no request holds it any more. */
    private final Map<String, Gauge> residentGauges = new HashMap<>();
    private volatile UnloadListener unloadListener = ids -> { };

    public RuntimeService(InferenceEngine engine, AttachMode mode, String modelName, MeterRegistry meters) {
        this.engine = engine;
        this.mode = mode;
        this.modelName = modelName;
        this.meters = meters;
        this.attachLatency = Timer.builder("loracle.adapters.attach.latency").description("time to take a request's adapter references (upload on first use)")
                .publishPercentileHistogram().register(meters);
        this.detachLatency = Timer.builder("loracle.adapters.detach.latency").description("time to drop a request's adapter references")
                .publishPercentileHistogram().register(meters);
    }

    public AttachMode attachMode() {
        return mode;
    }

    public void setUnloadListener(UnloadListener listener) {
        this.unloadListener = listener;
    }

    public ModelShape shape() {
        return engine.shape();
    }

    public int contextLength() {
        return engine.contextLength();
    }

    /** Prompt length in tokens as the engine counts it (BOS included where the vocabulary adds one). */
    public int promptTokens(String prompt) {
        return engine.tokenizer().encodePrompt(prompt).length;
    }

    public InferenceEngine engine() {
        return engine;
    }

    /**
     * Takes {@code requestId}'s references to its adapters (validated and uploaded on first use; AdapterValidationException
     * or RedLineExceededException otherwise, holding nothing). Holding twice for one request keeps the first references.
     */
    public List<AdapterWeight> hold(String requestId, String setKey, List<WeightedAdapter> adapters, List<String> cids) {
        long t0 = System.nanoTime();
        synchronized (held) {
            Held h = held.get(requestId);
            if (h != null) return h.adapters();
            List<AdapterWeight> refs = new ArrayList<>(adapters.size());
            List<String> names = new ArrayList<>(adapters.size());
            try {
                for (int i = 0; i < adapters.size(); i++) {
                    WeightedAdapter w = adapters.get(i);
                    boolean upload = engine.adapters().references(w.adapter().id()) == 0;
                    refs.add(new AdapterWeight(engine.adapters().load(w.adapter()), w.weight()));
                    String cid = i < cids.size() ? cids.get(i) : w.adapter().id();
                    names.add(cid);
                    if (upload) meters.counter("loracle.adapter.loads", "cid", cid).increment();
                    meters.counter("loracle.adapter.requests", "cid", cid).increment();
                }
            } catch (RuntimeException e) {
                refs.forEach(r -> r.adapter().close());
                throw e;
            }
            Held entry = new Held(setKey, List.copyOf(names), List.copyOf(refs));
            held.put(requestId, entry);
            registerResidentGauges(entry);
            attachLatency.record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
            return List.copyOf(refs);
        }
    }

    /** Queues one sequence in the engine's continuous batch, in the node's attach mode. */
    public Sequence submit(List<AdapterWeight> adapters, GenerationRequest request, TokenListener listener) {
        return submit(adapters, request, listener, null, false);
    }

    /**
     * As {@link #submit(List, GenerationRequest, TokenListener)}, with the prompt as token ids when {@code promptTokens}
     * is not null (a session turn), and its KV blocks kept in the prefix cache when {@code cachePrefix} (the next turn
     * of a session extends them; one-shot requests keep nothing, so memory returns to the base figure).
     */
    public Sequence submit(List<AdapterWeight> adapters, GenerationRequest request, TokenListener listener, int[] promptTokens,
                           boolean cachePrefix) {
        SequenceRequest req = SequenceRequest.of(request).withAdapters(adapters).withMode(mode).withListener(listener)
                .withCachePrefix(cachePrefix);
        return engine.submit(promptTokens == null ? req : req.withPromptTokens(promptTokens));
    }

    /**
     * Drops {@code requestId}'s adapter references (the last reference of an adapter frees its memory) and tells the
     * unload listener. Releasing a request that holds nothing (never started, or released already) just tells it.
     */
    public void release(String requestId) {
        long t0 = System.nanoTime();
        Held h;
        synchronized (held) {
            h = held.remove(requestId);
            if (h != null) {
                h.adapters().forEach(w -> w.adapter().close());
                removeResidentGauges(h);
            }
        }
        if (h != null) {
            detachLatency.record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
            log.debug("released {} adapter references; runtime memory {} bytes (base {})", h.adapters().size(),
                    engine.memory().used(), engine.memory().baseBytes());
        }
        unloadListener.onUnloaded(List.of(requestId));
    }

    /** Gauge {@code loracle.adapter.resident.bytes{cid}}: the adapter's backend bytes while some request holds it. */
    private void registerResidentGauges(Held h) {
        for (int i = 0; i < h.adapters().size(); i++) {
            String id = h.adapters().get(i).adapter().id(), cid = h.cids().get(i);
            residentGauges.computeIfAbsent(cid, c -> Gauge.builder("loracle.adapter.resident.bytes", engine.adapters(), s -> s.residentBytes(id))
                    .description("backend bytes of a resident adapter").baseUnit("bytes").tag("cid", c).register(meters));
        }
    }

    private void removeResidentGauges(Held released) {
        for (String cid : released.cids()) {
            boolean stillHeld = held.values().stream().anyMatch(other -> other.cids().contains(cid));
            if (stillHeld) continue;
            Gauge g = residentGauges.remove(cid);
            if (g != null) meters.remove(g);
        }
    }

    /** Whether some request holds the adapter set {@code setKey} now. */
    public boolean holds(String setKey) {
        synchronized (held) {
            for (Held h : held.values()) if (h.setKey().equals(setKey)) return true;
            return false;
        }
    }

    /** Device bytes held by adapters and merged copies now (everything above the base). */
    public long adapterResidentBytes() {
        MemoryBudget m = engine.memory();
        return Math.max(0, m.used() - m.baseBytes());
    }

    public Status status() {
        MemoryBudget m = engine.memory();
        TreeSet<String> cids = new TreeSet<>();
        int users;
        synchronized (held) {
            held.values().forEach(h -> cids.addAll(h.cids()));
            users = held.size();
        }
        return new Status(engine.backendName(), modelName, m.baseBytes(), m.used(), m.redLine(), engine.adapters().size(),
                List.copyOf(cids), users, mode.name());
    }

    @Override
    public void close() {
        synchronized (held) {
            held.values().forEach(h -> h.adapters().forEach(w -> w.adapter().close()));
            held.clear();
            residentGauges.values().forEach(meters::remove);
            residentGauges.clear();
        }
        engine.close();
    }
}
