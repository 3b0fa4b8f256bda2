package dev.loracle.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.runtime.cli.PromptProbe;
import dev.loracle.runtime.engine.BackendKind;
import dev.loracle.runtime.engine.EngineConfig;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.engine.KvCacheType;
import dev.loracle.runtime.tensor.GgmlType;
import dev.loracle.runtime.tensor.MatVec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * End to end (GGUF loader, tokenizer, engine) against llama.cpp's goldens of the {@code arch/} fixtures: token ids
 * exact, top-8 logits within a tolerance, greedy tokens up to the first near-tie. Llama 3 and Qwen2 run with INT8 dots
 * (activations quantized to Q8_0 as llama.cpp does for their Q8_0 embedding/classifier) within 1e-2.
 * For the K-quant models (Q4_K/Q5_K/Q6_K tensors): llama.cpp multiplies K-quant weights with activations it
 * quantizes to Q8_K, which our F32 activations do not mimic: with the weights decoded exactly (--quant f32) the
 * logits differ by at most 1.4e-2 (measured) and every greedy token matches; requantized to Q8_0 (the default, a
 * third of the memory of F32) the weights carry one more rounding, the logits stay within 3e-2.
 */
class EngineGoldenTest {

    /** Checks every golden prompt of {@code golden} against the engine; used for the arch fixtures too. */
    static void assertMatchesGoldens(InferenceEngine engine, String golden, float tolerance, boolean greedy) {
        List<String> failures = new ArrayList<>();
        float worst = 0;
        for (ArchGolden g : ArchGolden.load(golden)) {
            PromptProbe p = PromptProbe.run(engine, g.prompt(), greedy ? g.comparableGreedySteps() : 0);
            String where = "'" + g.prompt() + "': ";
            if (!Arrays.equals(g.tokens(), p.tokens())) failures.add(where + "tokens " + Arrays.toString(p.tokens()));
            for (int i = 0; i < 8; i++) {
                float d = Math.abs(g.top8Logits()[i] - p.top8Logits()[i]);
                worst = Math.max(worst, d);
                if (d > tolerance) failures.add(where + "top-" + (i + 1) + " logit " + p.top8Logits()[i] + " vs " + g.top8Logits()[i]);
                // ids may swap only between logits closer than the tolerance
                if (p.top8Ids()[i] != g.top8Ids()[i] && d > tolerance) failures.add(where + "top-" + (i + 1) + " id " + p.top8Ids()[i] + " vs " + g.top8Ids()[i]);
            }
            int n = p.greedy().length;
            if (!Arrays.equals(Arrays.copyOf(g.greedy(), n), p.greedy())) {
                failures.add(where + "greedy " + Arrays.toString(p.greedy()) + " vs " + Arrays.toString(Arrays.copyOf(g.greedy(), n)));
            }
        }
        assertTrue(failures.isEmpty(), failures.size() + " mismatches (largest logit difference " + worst + "):\n" + String.join("\n", failures));
    }

    static InferenceEngine open(String model, WeightFormat format, MatVec.DotMode dots) {
        return open(model, format, dots, KvCacheType.F32);
    }

    static InferenceEngine open(String model, WeightFormat format, MatVec.DotMode dots, KvCacheType kv) {
        return InferenceEngine.open(EngineConfig.of(ArchGolden.model(model)).withQuant(format).withDotMode(dots)
                .withBackend(BackendKind.CPU).withThreads(2).withKvCache(kv));
    }

    @ParameterizedTest
    @CsvSource({"llama3-tiny, llama3", "qwen2-tiny, qwen2"})
    void modernArchitecturesMatchLlamaCpp(String model, String golden) {
        try (InferenceEngine engine = open(model, WeightFormat.AS_FILE, MatVec.DotMode.INT8)) {
            assertMatchesGoldens(engine, golden, 1e-2f, true);
        }
    }

    @ParameterizedTest(name = "{0} kv {1}")
    @CsvSource({"kq-Q4_K_M, F16", "kq-Q5_K_M, F16"})
    void kQuantModelsMatchLlamaCpp(String model, KvCacheType kv) {
        try (InferenceEngine engine = open(model, WeightFormat.AS_FILE, MatVec.DotMode.INT8, kv)) {
            assertTrue(engine.weights().layers().getFirst().wq().type().kQuant(), "K-quants kept as stored");
            assertMatchesGoldens(engine, model, 1e-2f, true);
        }
    }

    @ParameterizedTest(name = "{0} requantized to Q8_0")
    @CsvSource({"kq-Q4_K_M", "kq-Q5_K_M"})
    void kQuantModelsRequantizedToQ8StayClose(String model) {
        try (InferenceEngine engine = open(model, WeightFormat.Q8_0, MatVec.DotMode.INT8, KvCacheType.F16)) {
            assertEquals(GgmlType.Q8_0, engine.weights().layers().getFirst().wq().type());
            assertMatchesGoldens(engine, model, 0.03f, false);
        }
    }
}
