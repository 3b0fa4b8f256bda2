package dev.loracle.oracle.runtime;

import dev.loracle.runtime.engine.AttachMode;
import dev.loracle.runtime.engine.Attachment;
import dev.loracle.runtime.engine.GenerationRequest;
import dev.loracle.runtime.engine.GenerationResult;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.engine.TokenListener;
import dev.loracle.runtime.lora.ModelShape;
import dev.loracle.runtime.lora.WeightedAdapter;
import dev.loracle.runtime.memory.MemoryBudget;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;

/**
 * The one runtime of the node and its single active attachment. Requests that used an attachment are its users until
 * they are released (confirmed on-chain, delivered, or failed); the attachment is detached when it has no users left and
 * no queued request wants it, or when another adapter set must be attached. Released users are reported as unloaded
 * when the attachment they used is gone.
 */
public class RuntimeService implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RuntimeService.class);

    /** Told which requests' adapters have left the runtime (their memory is released). */
    public interface UnloadListener {
        void onUnloaded(List<String> requestIds);
    }

    /** What is resident: the adapter-set key, the attachment, users still in flight, users done but resident. */
    private record Resident(String key, Attachment attachment, List<String> cids, Set<String> users, Set<String> released) {
    }

    public record Status(String backend, String model, long baseBytes, long usedBytes, long redLineBytes, String residentSet,
                         List<String> residentAdapterCids, int residentUsers, String attachMode) {
    }

    private final InferenceEngine engine;
    private final AttachMode mode;
    private final String modelName;
    private final ReentrantLock lock = new ReentrantLock();
    private volatile Resident resident;
    private volatile UnloadListener unloadListener = ids -> { };

    public RuntimeService(InferenceEngine engine, AttachMode mode, String modelName) {
        this.engine = engine;
        this.mode = mode;
        this.modelName = modelName;
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
     * Makes {@code key} the resident adapter set (detaching the previous one first) and registers {@code requestId} as
     * one of its users. Validation errors of the adapters surface here, before the base is touched.
     */
    public void attach(String key, List<WeightedAdapter> adapters, List<String> cids, String requestId) {
        List<String> unloaded = List.of();
        lock.lock();
        try {
            Resident r = resident;
            if (r == null || !r.key().equals(key)) {
                if (r != null) unloaded = detachLocked(r);
                long t0 = System.nanoTime();
                Attachment a = engine.attach(adapters, mode);
                resident = r = new Resident(key, a, List.copyOf(cids), new LinkedHashSet<>(), new LinkedHashSet<>());
                log.info("attached adapter set {} ({} adapters, {}) in {} ms; runtime memory {} bytes", key, adapters.size(), mode,
                        (System.nanoTime() - t0) / 1_000_000, engine.memory().used());
            }
            r.users().add(requestId);
        } finally {
            lock.unlock();
        }
        if (!unloaded.isEmpty()) unloadListener.onUnloaded(unloaded);
    }

    /** Generates with the resident set {@code key}; only the scheduler's runtime thread calls this. */
    public GenerationResult generate(String key, GenerationRequest request, TokenListener listener) {
        Resident r = resident;
        if (r == null || !r.key().equals(key)) {
            throw new IllegalStateException("adapter set " + key + " is not attached (resident: " + (r == null ? "none" : r.key()) + ")");
        }
        return engine.generate(r.attachment(), request, listener);
    }

    /**
     * The request no longer needs its adapters. If it was the last user and nobody queued wants the set, the set is
     * detached now. Requests whose adapters are gone are reported to the unload listener (possibly this one at once).
     */
    public void release(String requestId, Predicate<String> stillWanted) {
        List<String> unloaded;
        lock.lock();
        try {
            Resident r = resident;
            if (r == null || !r.users().remove(requestId)) {
                unloaded = List.of(requestId); // its set was detached already
            } else {
                r.released().add(requestId);
                unloaded = r.users().isEmpty() && !stillWanted.test(r.key()) ? detachLocked(r) : List.of();
            }
        } finally {
            lock.unlock();
        }
        if (!unloaded.isEmpty()) unloadListener.onUnloaded(unloaded);
    }

    /** Detaches the resident set if it has no users and is not wanted (e.g. the queue moved on). */
    public void detachIfIdle(Predicate<String> stillWanted) {
        List<String> unloaded = List.of();
        lock.lock();
        try {
            Resident r = resident;
            if (r != null && r.users().isEmpty() && !stillWanted.test(r.key())) unloaded = detachLocked(r);
        } finally {
            lock.unlock();
        }
        if (!unloaded.isEmpty()) unloadListener.onUnloaded(unloaded);
    }

    private List<String> detachLocked(Resident r) {
        engine.detach(r.attachment());
        resident = null;
        log.info("detached adapter set {}; runtime memory back to {} bytes (base {})", r.key(), engine.memory().used(),
                engine.memory().baseBytes());
        List<String> ids = new ArrayList<>(r.released());
        ids.addAll(r.users()); // users of a set detached early are unloaded too; they are told again on release
        return ids;
    }

    public String residentKey() {
        Resident r = resident;
        return r == null ? null : r.key();
    }

    public Status status() {
        MemoryBudget m = engine.memory();
        Resident r = resident;
        return new Status(engine.backendName(), modelName, m.baseBytes(), m.used(), m.redLine(), r == null ? null : r.key(),
                r == null ? List.of() : r.cids(), r == null ? 0 : r.users().size(), mode.name());
    }

    @Override
    public void close() {
        lock.lock();
        try {
            Resident r = resident;
            if (r != null) detachLocked(r);
            engine.close();
        } finally {
            lock.unlock();
        }
    }
}
