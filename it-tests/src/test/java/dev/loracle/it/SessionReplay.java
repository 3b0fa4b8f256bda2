package dev.loracle.it;

import dev.loracle.contracts.NumericProfile;
import dev.loracle.oracle.devstack.ExampleAdapters;
import dev.loracle.oracle.session.CanonicalHistory;
import dev.loracle.runtime.engine.AdapterWeight;
import dev.loracle.runtime.engine.AttachMode;
import dev.loracle.runtime.engine.BackendKind;
import dev.loracle.runtime.engine.EngineConfig;
import dev.loracle.runtime.engine.GenerationRequest;
import dev.loracle.runtime.engine.GenerationResult;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.engine.SequenceRequest;
import dev.loracle.runtime.lora.PeftAdapter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A session conversation replayed in this process: each turn a full prefill of the canonical history plus its prompt. */
final class SessionReplay {
    record Replay(List<String> replies, List<int[]> tokensAfter) {}

    private SessionReplay() {}

    static Replay replay(List<ExampleAdapters.Published> adapters, List<String> prompts, int maxTokens, int temperature, int topP,
                         long seed) {
        Path models = ItPaths.modelsDir();
        EngineConfig config = EngineConfig.of(models.resolve("llama2c/stories260K.bin"))
                .withTokenizer(models.resolve("llama2c/tok512.bin")).withBackend(BackendKind.CPU).withThreads(1);
        try (InferenceEngine engine = InferenceEngine.open(config)) {
            List<AdapterWeight> set = new ArrayList<>();
            for (ExampleAdapters.Published a : adapters) {
                set.add(new AdapterWeight(engine.adapters().load(PeftAdapter.load(a.directory(),
                        engine.adapterLoadOptions().withId(a.cid().toString()))), a.weight() / 10_000f));
            }
            List<String> replies = new ArrayList<>();
            List<int[]> after = new ArrayList<>();
            int[] history = new int[0];
            for (String p : prompts) {
                int[] prompt = CanonicalHistory.withPrompt(engine.tokenizer(), history, p);
                GenerationResult r = engine.submit(SequenceRequest.of(new GenerationRequest(p, maxTokens, temperature / 10_000f,
                                topP / 10_000f, seed)).withPromptTokens(prompt).withAdapters(set)
                        .withMode(AttachMode.valueOf(NumericProfile.DEV_DEFAULT.attach())).withCachePrefix(false)).result().join();
                replies.add(r.text());
                history = CanonicalHistory.withOutput(engine.tokenizer(), prompt, r.text());
                after.add(history);
            }
            set.forEach(w -> w.adapter().close());
            return new Replay(replies, after);
        }
    }
}
