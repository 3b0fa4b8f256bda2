package dev.loracle.runtime.engine;

import dev.loracle.runtime.lora.WeightedAdapter;
import java.util.List;

/** Handle of attached adapters (one active per engine). Obtained from {@link InferenceEngine#attach}. */
public final class Attachment {
    private final long id;
    private final AttachMode mode;
    private final List<WeightedAdapter> adapters;
    final WeightOverlay overlay;
    private final long attachNanos;
    private volatile boolean detached;

    Attachment(long id, AttachMode mode, List<WeightedAdapter> adapters, WeightOverlay overlay, long attachNanos) {
        this.id = id;
        this.mode = mode;
        this.adapters = List.copyOf(adapters);
        this.overlay = overlay;
        this.attachNanos = attachNanos;
    }

    public long id() { return id; }
    public AttachMode mode() { return mode; }
    public List<WeightedAdapter> adapters() { return adapters; }
    /** Bytes this attachment holds on the backend (working copies or adapter operands). */
    public long bytes() { return overlay.bytes(); }
    /** Tensors this attachment changes. */
    public java.util.Set<TensorId> tensors() { return overlay.tensors(); }
    public long attachNanos() { return attachNanos; }
    /** The backend-side overlay (for tools driving the backend directly, like the bench). */
    public WeightOverlay overlay() { return overlay; }
    public boolean detached() { return detached; }

    void markDetached() { detached = true; }

    @Override
    public String toString() {
        return "Attachment#" + id + "(" + mode + ", " + adapters.size() + " adapters, " + tensors().size() + " tensors)";
    }
}
