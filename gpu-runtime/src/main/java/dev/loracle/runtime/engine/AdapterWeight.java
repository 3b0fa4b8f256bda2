package dev.loracle.runtime.engine;

import java.util.Objects;

/** A resident adapter with the weight w_i it gets in a sequence's adapter set. */
public record AdapterWeight(ResidentAdapter adapter, float weight) {
    public AdapterWeight {
        Objects.requireNonNull(adapter, "adapter");
        if (!Float.isFinite(weight)) throw new IllegalArgumentException("weight of adapter " + adapter.id() + " must be finite, got " + weight);
    }
}
