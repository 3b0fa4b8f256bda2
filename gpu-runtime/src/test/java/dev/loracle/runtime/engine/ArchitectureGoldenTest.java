package dev.loracle.runtime.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.runtime.memory.MemoryBudget;
import dev.loracle.runtime.model.GgufFile;
import dev.loracle.runtime.model.GgufLlamaModel;
import dev.loracle.runtime.model.LlamaWeights;
import dev.loracle.runtime.model.MappedFile;
import dev.loracle.runtime.model.TestModels;
import dev.loracle.runtime.tensor.MatVec;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

/**
 * The plan against llama.cpp on real architectures (tiny random weights, real shapes): Llama 3 (rope_freqs factors,
 * theta 5e5) and Qwen2 (q/k/v biases, NeoX RoPE). Prompt token ids come from the goldens, so no tokenizer is needed:
 * the top-8 logits at the last prompt position within 1e-2, greedy tokens equal up to the first step whose top-2
 * margin is below 0.01 (where float rounding may legitimately flip the choice). INT8 dots quantize the activations to
 * Q8_0 as llama.cpp does for its quantized (Q8_0 embedding/classifier) matmuls.
 */
class ArchitectureGoldenTest {

    @ParameterizedTest
    @ValueSource(strings = {"llama3", "qwen2"})
    void logitsAndGreedyTokensMatchLlamaCpp(String arch) throws IOException {
        Path dir = TestModels.dir().resolve("arch");
        List<String> lines = Files.readAllLines(dir.resolve(arch + "-golden.jsonl"));
        ObjectMapper json = new ObjectMapper();
        try (Arena arena = Arena.ofShared();
             CpuBackend b = new CpuBackend(2, MatVec.DotMode.INT8, new MemoryBudget("cpu", EngineConfig.NO_RED_LINE))) {
            LlamaWeights w = GgufLlamaModel.weights(GgufFile.parse(MappedFile.map(dir.resolve(arch + "-tiny.gguf"), arena)));
            assertEquals(arch.equals("llama3") ? "llama" : arch, w.config().architecture());
            b.loadBase(w);
            int checked = 0;
            for (String line : lines) {
                JsonNode g = json.readTree(line);
                int[] prompt = ints(g.get("tokens"));
                int[] greedy = ints(g.get("greedy"));
                double[] margins = doubles(g.get("greedy_top2_margins"));
                int[] top8 = ints(g.get("top8_ids"));
                double[] top8Logits = doubles(g.get("top8_logits"));
                try (StepHarness h = new StepHarness(b, KvCacheType.F32, prompt.length + greedy.length)) {
                    float[] logits = h.feed(prompt, 0, AdapterBinding.BASE, false)[0];
                    for (int i = 0; i < top8.length; i++) {
                        assertEquals(top8Logits[i], logits[top8[i]], 1e-2, arch + " logit of token " + top8[i] + " for " + g.get("prompt"));
                    }
                    for (int s = 0; s < greedy.length; s++) {
                        int next = Sampler.argmax(logits, logits.length);
                        if (margins[s] < 0.01) break;
                        assertEquals(greedy[s], next, arch + " greedy token " + s + " for " + g.get("prompt"));
                        checked++;
                        logits = h.feed(new int[] {next}, prompt.length + s, AdapterBinding.BASE, false)[0];
                    }
                }
            }
            assertTrue(checked > lines.size() * 4, "enough greedy steps compared (" + checked + ")");
        }
    }

    private static int[] ints(JsonNode n) {
        int[] a = new int[n.size()];
        for (int i = 0; i < a.length; i++) a[i] = n.get(i).asInt();
        return a;
    }

    private static double[] doubles(JsonNode n) {
        double[] a = new double[n.size()];
        for (int i = 0; i < a.length; i++) a[i] = n.get(i).asDouble();
        return a;
    }
}
