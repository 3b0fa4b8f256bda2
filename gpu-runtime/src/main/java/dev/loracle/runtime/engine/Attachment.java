package dev.loracle.runtime.engine;

import dev.loracle.runtime.lora.WeightedAdapter;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A weighted adapter set made resident by {@link InferenceEngine#attach} (the single-set API kept over the adapter
 * store): references to its resident adapters and, for MERGED, to its shared merged copy. Several may be attached at
 * once; {@link InferenceEngine#detach} drops the references.
 */
public final class Attachment {
    private final long id;
    private final AttachMode mode;
    private final List<WeightedAdapter> adapters;
    final List<AdapterWeight> resident;
    final MergedCopies.Handle merged;
    private final long attachNanos;
    private final AtomicBoolean detached = new AtomicBoolean();

    Attachment(long id, AttachMode mode, List<WeightedAdapter> adapters, List<AdapterWeight> resident, MergedCopies.Handle merged,
               long attachNanos) {
        this.id = id;
        this.mode = mode;
        this.adapters = List.copyOf(adapters);
        this.resident = List.copyOf(resident);
        this.merged = merged;
        this.attachNanos = attachNanos;
    }

    public long id() { return id; }
    public AttachMode mode() { return mode; }
    public List<WeightedAdapter> adapters() { return adapters; }
    /** The resident adapters with their weights, for {@link SequenceRequest#withAdapters} (with {@link #mode()}). */
    public List<AdapterWeight> adapterSet() { return resident; }

    /** Bytes this attachment holds on the backend: its merged copy (MERGED) or its resident adapters (UNMERGED). */
    public long bytes() {
        if (merged != null) return merged.copy().bytes();
        long n = 0;
        for (AdapterWeight w : resident) n += w.adapter().bytes();
        return n;
    }

    /** Tensors this attachment changes. */
    public Set<TensorId> tensors() {
        Set<TensorId> s = new LinkedHashSet<>();
        for (WeightedAdapter w : adapters) w.adapter().targets().forEach(t -> s.add(new TensorId(t.layer(), t.kind())));
        return s;
    }

    public long attachNanos() { return attachNanos; }
    public boolean detached() { return detached.get(); }

    /** Marks detached; true the first time only. */
    boolean markDetached() { return detached.compareAndSet(false, true); }

    @Override
    public String toString() {
        return "Attachment#" + id + "(" + mode + ", " + adapters.size() + " adapters, " + tensors().size() + " tensors)";
    }
}
