package dev.loracle.runtime.lora;

import dev.loracle.runtime.safetensors.TensorInfo;

/**
 * The two matrices PEFT stores for one module: A [rank x in] and B [out x rank].
 *
 * @param module module path without the {@code base_model.model.} prefix, e.g. {@code model.layers.3.self_attn.q_proj}
 * @param layer  the layer index PEFT reads from the path, or -1
 */
public record LoraPair(String module, int layer, TensorInfo a, TensorInfo b, int rank, int in, int out) {
    /** The last component of the module path, e.g. {@code q_proj} or {@code c_attn}. */
    public String moduleName() {
        return module.substring(module.lastIndexOf('.') + 1);
    }
}
