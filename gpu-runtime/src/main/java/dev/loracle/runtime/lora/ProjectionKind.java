package dev.loracle.runtime.lora;

import java.util.Locale;

/** The seven Llama projection matrices a LoRA adapter can target, with their PEFT and GGUF names. */
public enum ProjectionKind {
    Q("q_proj", "self_attn", "attn_q"),
    K("k_proj", "self_attn", "attn_k"),
    V("v_proj", "self_attn", "attn_v"),
    O("o_proj", "self_attn", "attn_output"),
    GATE("gate_proj", "mlp", "ffn_gate"),
    UP("up_proj", "mlp", "ffn_up"),
    DOWN("down_proj", "mlp", "ffn_down");

    private final String peftName;
    private final String peftBlock;
    private final String ggufName;

    ProjectionKind(String peftName, String peftBlock, String ggufName) {
        this.peftName = peftName;
        this.peftBlock = peftBlock;
        this.ggufName = ggufName;
    }

    /** PEFT / Hugging Face module name, e.g. {@code q_proj}. */
    public String peftName() { return peftName; }

    /** The Hugging Face sub-module that holds this projection: {@code self_attn} or {@code mlp}. */
    public String peftBlock() { return peftBlock; }

    /** GGUF tensor stem, e.g. {@code attn_q} (full name {@code blk.N.attn_q.weight}). */
    public String ggufName() { return ggufName; }

    /** GGUF tensor name of this projection in layer {@code layer}. */
    public String ggufTensorName(int layer) { return "blk." + layer + "." + ggufName + ".weight"; }

    /** Hugging Face module path of this projection in layer {@code layer}, e.g. {@code model.layers.3.self_attn.q_proj}. */
    public String peftModulePath(int layer) { return "model.layers." + layer + "." + peftBlock + "." + peftName; }

    /**
     * Maps a PEFT module name to a kind. Accepts the bare name ({@code q_proj}), a dotted suffix
     * ({@code self_attn.q_proj}) or a full path; only the last dotted component decides.
     *
     * @throws IllegalArgumentException naming the module when it is not one of the seven Llama projections
     */
    public static ProjectionKind fromPeftModuleName(String name) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("PEFT module name is empty");
        }
        String last = name.substring(name.lastIndexOf('.') + 1).toLowerCase(Locale.ROOT);
        for (ProjectionKind k : values()) {
            if (k.peftName.equals(last)) {
                return k;
            }
        }
        String hint = switch (last) {
            case "c_attn", "c_proj", "c_fc" -> " (GPT-2 adapter?)";
            case "embed_tokens", "lm_head", "wte", "wpe" -> " (embedding/classifier adapters are not supported)";
            default -> "";
        };
        throw new IllegalArgumentException("module " + last + " is not a Llama projection" + hint
                + "; expected one of q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj");
    }
}
