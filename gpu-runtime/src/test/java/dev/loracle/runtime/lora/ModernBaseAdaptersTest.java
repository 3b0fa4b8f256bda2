package dev.loracle.runtime.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.runtime.model.ArchGolden;
import dev.loracle.runtime.model.GgufFile;
import dev.loracle.runtime.model.GgufLlamaModel;
import dev.loracle.runtime.model.LlamaWeights;
import dev.loracle.runtime.model.LoadedModel;
import dev.loracle.runtime.model.MappedFile;
import dev.loracle.runtime.model.ModelConfig;
import dev.loracle.runtime.model.ModelLoader;
import dev.loracle.runtime.model.TestModels;
import dev.loracle.runtime.model.WeightFormat;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.EnumSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PEFT adapters trained on Hugging Face Llama 3 / Qwen2 checkpoints, loaded for their GGUF bases with the options the
 * base implies. Hugging Face applies RoPE to rotate-halves pairs (i, i + hd/2); a llama GGUF's converter permuted the
 * Q/K rows so that the engine rotates adjacent pairs (2i, 2i+1). The check is the quantity attention uses: for every
 * head, the score of the rotated query against the rotated key computed the HF way from the adapter's dense delta
 * (scale * B @ A) must equal the score computed the engine's way from the loaded (possibly permuted) low-rank factors.
 */
class ModernBaseAdaptersTest {

    private static LoadedModel load(String name, Arena arena) {
        return ModelLoader.load(ArchGolden.model(name), null, WeightFormat.AS_FILE, arena);
    }

    /** Dense delta times x, HF way: scale * B (A x), from the PEFT file's own matrices. */
    private static float[] denseDeltaTimes(PeftAdapter p, String module, float scale, float[] x) {
        String prefix = p.tensorNames().stream().filter(k -> k.contains(module + ".lora_A")).findFirst().orElseThrow();
        float[] a = p.tensor(prefix);
        float[] b = p.tensor(prefix.replace("lora_A", "lora_B"));
        long[] as = p.shape(prefix);
        int rank = (int) as[0], in = (int) as[1], out = b.length / rank;
        float[] w = new float[out * in]; // the dense reference: W = scale * B @ A
        for (int o = 0; o < out; o++) for (int r = 0; r < rank; r++) for (int i = 0; i < in; i++) w[o * in + i] += scale * b[o * rank + r] * a[r * in + i];
        float[] y = new float[out];
        for (int o = 0; o < out; o++) for (int i = 0; i < in; i++) y[o] += w[o * in + i] * x[i];
        return y;
    }

    /** The engine's way: scale * B (A x) from the loaded target. */
    private static float[] lowRankTimes(LoraTarget t, float[] x) {
        float[] ax = new float[t.rank()];
        for (int r = 0; r < t.rank(); r++) for (int i = 0; i < t.in(); i++) ax[r] += t.a().getAtIndex(LoraTarget.F32, (long) r * t.in() + i) * x[i];
        float[] y = new float[t.out()];
        for (int o = 0; o < t.out(); o++) for (int r = 0; r < t.rank(); r++) y[o] += t.scale() * t.b().getAtIndex(LoraTarget.F32, (long) o * t.rank() + r) * ax[r];
        return y;
    }

    /** RoPE at {@code pos} of one head at {@code off}: pairs (i, i + hd/2) when neox, else (2i, 2i + 1). */
    private static void rope(float[] v, int off, int hd, int pos, float theta, boolean neox) {
        for (int i = 0; i < hd / 2; i++) {
            double angle = pos * Math.pow(theta, -2.0 * i / hd);
            int a = neox ? off + i : off + 2 * i, b = neox ? off + i + hd / 2 : off + 2 * i + 1;
            float x0 = v[a], x1 = v[b];
            v[a] = (float) (x0 * Math.cos(angle) - x1 * Math.sin(angle));
            v[b] = (float) (x0 * Math.sin(angle) + x1 * Math.cos(angle));
        }
    }

    /** Scores of a query at {@code qPos} against a key at {@code kPos} (they differ: at equal positions RoPE cancels). */
    private static float[] scores(float[] q, float[] k, ModelConfig c, int qPos, int kPos, boolean neox) {
        int hd = c.headDim();
        for (int h = 0; h < c.nHeads(); h++) rope(q, h * hd, hd, qPos, c.ropeTheta(), neox);
        for (int h = 0; h < c.nKvHeads(); h++) rope(k, h * hd, hd, kPos, c.ropeTheta(), neox);
        float[] s = new float[c.nHeads()];
        for (int h = 0; h < c.nHeads(); h++) {
            int kh = h / c.kvMul();
            for (int i = 0; i < hd; i++) s[h] += q[h * hd + i] * k[kh * hd + i];
        }
        return s;
    }

    private static void assertAttentionScoresAgree(String model, boolean expectPermuted, Path tmp) {
        try (Arena arena = Arena.ofShared()) {
            LoadedModel m = load(model, arena);
            ModelConfig c = m.weights().config();
            assertEquals(expectPermuted, m.adapterLoadOptions().permuteQk(), model);
            PeftAdapter peft = PeftAdapter.randomForShape(c.shape(), 8, 16f, EnumSet.of(ProjectionKind.Q, ProjectionKind.K), 42);
            peft.write(tmp.resolve(model));
            LoraAdapter loaded = PeftAdapter.load(tmp.resolve(model), m.adapterLoadOptions());
            loaded.validateAgainst(c.shape()); // qwen2 bases accept Llama-layout adapters
            float scale = 16f / 8;
            java.util.Random r = new java.util.Random(3);
            float[] x = new float[c.dim()];
            for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
            int qPos = 7, kPos = 2;
            float[] hf = scores(denseDeltaTimes(peft, "layers.1.self_attn.q_proj", scale, x),
                    denseDeltaTimes(peft, "layers.1.self_attn.k_proj", scale, x), c, qPos, kPos, true);
            LoraTarget q = loaded.targets().stream().filter(t -> t.layer() == 1 && t.kind() == ProjectionKind.Q).findFirst().orElseThrow();
            LoraTarget k = loaded.targets().stream().filter(t -> t.layer() == 1 && t.kind() == ProjectionKind.K).findFirst().orElseThrow();
            float[] engine = scores(lowRankTimes(q, x), lowRankTimes(k, x), c, qPos, kPos, c.ropeStyle() == ModelConfig.RopeStyle.NEOX);
            for (int h = 0; h < hf.length; h++) assertEquals(hf[h], engine[h], 1e-4f * Math.max(1f, Math.abs(hf[h])), model + " head " + h);
        }
    }

    @Test
    void llama3BaseGetsTheConvertersPermutation(@TempDir Path tmp) {
        assertAttentionScoresAgree("llama3-tiny", true, tmp);
    }

    @Test
    void qwen2BaseIsNotPermuted(@TempDir Path tmp) {
        assertAttentionScoresAgree("qwen2-tiny", false, tmp);
    }

    @Test
    void llama2cConvertedBasesKeepTheirOrder() {
        try (Arena arena = Arena.ofShared()) {
            assertFalse(GgufLlamaModel.qkPermutedFromHf(GgufFile.parse(MappedFile.map(TestModels.ggufF32(), arena))));
            assertTrue(GgufLlamaModel.qkPermutedFromHf(GgufFile.parse(MappedFile.map(ArchGolden.model("kq-Q4_K_M"), arena))));
            LlamaWeights w = ModelLoader.load(TestModels.stories260kBin(), TestModels.tok512(), WeightFormat.AS_FILE, arena).weights();
            assertEquals(ModelShape.LLAMA, w.config().shape().architecture());
        }
    }

    @Test
    void adapterOfAnotherShapeIsRefusedByName(@TempDir Path tmp) {
        try (Arena arena = Arena.ofShared()) {
            ModelConfig qwen = load("qwen2-tiny", arena).weights().config();
            ModelShape wrong = new ModelShape("qwen2", qwen.dim(), qwen.hiddenDim() * 2, qwen.nLayers(), qwen.nHeads(), qwen.nKvHeads(), qwen.vocabSize());
            PeftAdapter.randomForShape(wrong, 4, 8f, EnumSet.of(ProjectionKind.UP), 1).write(tmp.resolve("up"));
            LoraAdapter a = PeftAdapter.load(tmp.resolve("up"), LoadOptions.defaults());
            AdapterValidationException e = assertThrows(AdapterValidationException.class, () -> a.validateAgainst(qwen.shape()));
            assertTrue(e.getMessage().contains("blk.0.ffn_up.weight"), e.getMessage());
            ModelShape gpt2 = new ModelShape("gpt2", qwen.dim(), qwen.hiddenDim(), qwen.nLayers(), qwen.nHeads(), qwen.nKvHeads(), qwen.vocabSize());
            assertFalse(gpt2.acceptsAdapterFor(ModelShape.LLAMA));
        }
    }
}
