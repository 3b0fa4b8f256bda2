package dev.loracle.runtime.lora;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/** A LoRA adapter mapped onto a model architecture's projections: one {@link LoraTarget} per (layer, kind). */
public final class LoraAdapter {
    private final String id;
    private final String architecture;
    private final List<LoraTarget> targets;
    private final Map<Integer, EnumMap<ProjectionKind, LoraTarget>> byLayer;
    private final int rankMax;
    private final long bytes;

    /**
     * @param architecture the architecture the targets are named for ({@link ModelShape#LLAMA})
     * @throws AdapterValidationException on an empty target list or two targets for the same (layer, kind)
     */
    public LoraAdapter(String id, String architecture, List<LoraTarget> targets) {
        this.id = Objects.requireNonNull(id, "id");
        this.architecture = Objects.requireNonNull(architecture, "architecture");
        if (targets.isEmpty()) {
            throw new AdapterValidationException("adapter " + id + " has no LoRA targets");
        }
        List<LoraTarget> sorted = new ArrayList<>(targets);
        sorted.sort((x, y) -> x.layer() != y.layer() ? Integer.compare(x.layer(), y.layer())
                : x.kind().compareTo(y.kind()));
        Map<Integer, EnumMap<ProjectionKind, LoraTarget>> map = new HashMap<>();
        int maxRank = 0;
        long total = 0;
        for (LoraTarget t : sorted) {
            LoraTarget previous = map.computeIfAbsent(t.layer(), l -> new EnumMap<>(ProjectionKind.class))
                    .put(t.kind(), t);
            if (previous != null) {
                throw new AdapterValidationException("adapter " + id + " has two deltas for " + t.describe());
            }
            maxRank = Math.max(maxRank, t.rank());
            total += t.bytes();
        }
        this.targets = Collections.unmodifiableList(sorted);
        this.byLayer = map;
        this.rankMax = maxRank;
        this.bytes = total;
    }

    public String id() { return id; }

    public String architecture() { return architecture; }

    /** Largest rank over all targets (sizes the scratch of the unmerged path). */
    public int rankMax() { return rankMax; }

    /** Targets sorted by layer, then kind. */
    public List<LoraTarget> targets() { return targets; }

    /** Bytes of all A and B matrices (F32). */
    public long bytes() { return bytes; }

    public Optional<LoraTarget> target(int layer, ProjectionKind kind) {
        EnumMap<ProjectionKind, LoraTarget> m = byLayer.get(layer);
        return m == null ? Optional.empty() : Optional.ofNullable(m.get(kind));
    }

    /**
     * Checks every target against the model: same architecture, layer in range, delta shape [out x in] equal to the
     * projection's shape.
     *
     * @throws AdapterValidationException naming the adapter, the tensor and both shapes on the first mismatch
     */
    public void validateAgainst(ModelShape shape) {
        if (!shape.acceptsAdapterFor(architecture)) {
            throw new AdapterValidationException("adapter " + id + " is for architecture '" + architecture
                    + "' but the model is '" + shape.architecture() + "'");
        }
        for (LoraTarget t : targets) {
            if (t.layer() >= shape.nLayers()) {
                throw new AdapterValidationException("adapter " + id + " targets layer " + t.layer() + " ("
                        + t.kind().peftName() + ") but the model has " + shape.nLayers() + " layers (0.."
                        + (shape.nLayers() - 1) + ")");
            }
            int out = shape.outDim(t.kind());
            int in = shape.inDim(t.kind());
            if (t.out() != out || t.in() != in) {
                throw new AdapterValidationException("adapter " + id + " shape mismatch for tensor "
                        + t.kind().ggufTensorName(t.layer()) + " (" + t.kind().peftModulePath(t.layer())
                        + "): adapter delta B@A is [" + t.out() + " x " + t.in() + "] (A [" + t.rank() + " x "
                        + t.in() + "], B [" + t.out() + " x " + t.rank() + "]) but the model tensor is [" + out
                        + " x " + in + "]");
            }
        }
    }

    @Override
    public String toString() {
        return "LoraAdapter[" + id + ", " + architecture + ", " + targets.size() + " targets, rankMax=" + rankMax
                + ", " + bytes + " bytes]";
    }
}
