package dev.loracle.runtime.engine;

import dev.loracle.runtime.lora.ProjectionKind;

/** One adaptable matrix of the model: (layer, projection). */
public record TensorId(int layer, ProjectionKind kind) {
    public String ggufName() { return kind.ggufTensorName(layer); }

    @Override
    public String toString() { return ggufName(); }
}
