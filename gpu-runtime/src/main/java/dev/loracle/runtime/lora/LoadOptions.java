package dev.loracle.runtime.lora;

/**
 * How to turn a PEFT adapter into a {@link LoraAdapter}.
 *
 * @param adapterId        id of the loaded adapter; null = the directory's name
 * @param permuteQk        apply the HF->GGUF row permutation to B of q_proj/k_proj (adapters trained on a Hugging
 *                         Face Llama, merged into a GGUF or llama2.c base)
 * @param nHeads           attention heads (used when permuteQk)
 * @param nKvHeads         key/value heads (used when permuteQk)
 */
public record LoadOptions(String adapterId, boolean permuteQk, int nHeads, int nKvHeads) {

    public LoadOptions {
        if (permuteQk && (nHeads <= 0 || nKvHeads <= 0 || nHeads % nKvHeads != 0)) {
            throw new IllegalArgumentException("Q/K permutation needs positive nHeads and nKvHeads with nHeads % nKvHeads"
                    + " == 0, got nHeads=" + nHeads + " nKvHeads=" + nKvHeads);
        }
    }

    /** No permutation, id = directory name. */
    public static LoadOptions defaults() {
        return new LoadOptions(null, false, 0, 0);
    }

    /** Permute Q/K rows of B from Hugging Face order to GGUF/llama2.c order. */
    public static LoadOptions permuteQkForGguf(int nHeads, int nKvHeads) {
        return new LoadOptions(null, true, nHeads, nKvHeads);
    }

    public LoadOptions withId(String id) {
        return new LoadOptions(id, permuteQk, nHeads, nKvHeads);
    }
}
