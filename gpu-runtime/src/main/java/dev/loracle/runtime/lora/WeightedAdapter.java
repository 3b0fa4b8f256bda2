package dev.loracle.runtime.lora;

import java.util.Objects;

/** An adapter with the weight w_i it gets in a composite attach. */
public record WeightedAdapter(LoraAdapter adapter, float weight) {
    public WeightedAdapter {
        Objects.requireNonNull(adapter, "adapter");
        if (!Float.isFinite(weight)) {
            throw new IllegalArgumentException("weight of adapter " + adapter.id() + " must be finite, got " + weight);
        }
    }
}
