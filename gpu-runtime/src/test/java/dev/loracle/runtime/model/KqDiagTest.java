package dev.loracle.runtime.model;

import dev.loracle.runtime.cli.PromptProbe;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.engine.KvCacheType;
import dev.loracle.runtime.tensor.MatVec;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class KqDiagTest {
    @ParameterizedTest
    @CsvSource({"kq-Q4_K_M,F16,INT8", "kq-Q5_K_M,F16,INT8", "kq-Q4_K_M,F32,INT8", "kq-Q5_K_M,F32,INT8"})
    void diag(String model, KvCacheType kv, MatVec.DotMode mode) {
        String golden = model.startsWith("kq") ? model : model.replace("-tiny", "");
        try (InferenceEngine e = EngineGoldenTest.open(model, WeightFormat.AS_FILE, mode, kv)) {
            float worst = 0;
            int greedyBad = 0;
            for (ArchGolden g : ArchGolden.load(golden)) {
                PromptProbe p = PromptProbe.run(e, g.prompt(), g.comparableGreedySteps());
                for (int i = 0; i < 8; i++) worst = Math.max(worst, Math.abs(g.top8Logits()[i] - p.top8Logits()[i]));
                if (!java.util.Arrays.equals(java.util.Arrays.copyOf(g.greedy(), p.greedy().length), p.greedy())) greedyBad++;
            }
            System.out.println("DIAG " + model + " kv=" + kv + " " + mode + " worst=" + worst + " greedyBad=" + greedyBad);
        }
    }
}
