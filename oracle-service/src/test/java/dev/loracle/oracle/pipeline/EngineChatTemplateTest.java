package dev.loracle.oracle.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loracle.contracts.FailureCode;
import dev.loracle.contracts.devchain.DevChainDeployer;
import dev.loracle.oracle.journal.InferenceSpec;
import dev.loracle.oracle.journal.PromptFormat;
import dev.loracle.oracle.journal.RequestOrigin;
import dev.loracle.oracle.runtime.RuntimeService;
import dev.loracle.runtime.engine.AttachMode;
import dev.loracle.runtime.engine.BackendKind;
import dev.loracle.runtime.engine.EngineConfig;
import dev.loracle.runtime.engine.InferenceEngine;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** An on-chain or API CHAT prompt rendered with the model's own template (Llama 3 and Qwen fixtures). */
class EngineChatTemplateTest {

    private static RuntimeService runtime(String model) {
        var cfg = EngineConfig.of(DevChainDeployer.modelsDir().resolve("arch/" + model + ".gguf")).withBackend(BackendKind.CPU).withThreads(1);
        return new RuntimeService(InferenceEngine.open(cfg), AttachMode.UNMERGED, model, new io.micrometer.core.instrument.simple.SimpleMeterRegistry());
    }

    private static InferenceSpec chat(String json) {
        return new InferenceSpec("cmpl-x", RequestOrigin.API, null, "0x00", List.of(), json.getBytes(StandardCharsets.UTF_8), 8,
                0, 10_000, BigInteger.ZERO, 0, 0, BigInteger.ZERO, null, 0, PromptFormat.CHAT);
    }

    @Test
    void llama3ChatIsRenderedWithItsTemplateAndOneBos() {
        try (RuntimeService rt = runtime("llama3-tiny")) {
            PromptRenderer r = new PromptRenderer(rt, EngineChatTemplate.of(rt));
            String text = r.render(chat("[{\"role\":\"user\",\"content\":\"Hi\"}]"));
            assertThat(text).isEqualTo("<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
            int[] ids = rt.engine().tokenizer().encodePrompt(text);
            assertThat(ids[0]).isEqualTo(128000);
            assertThat(ids[1]).isEqualTo(128006);
        }
    }

    @Test
    void qwenChatUsesChatMl() {
        try (RuntimeService rt = runtime("qwen2-tiny")) {
            String text = new PromptRenderer(rt, EngineChatTemplate.of(rt))
                    .render(chat("[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Hi\"}]"));
            assertThat(text).isEqualTo("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
        }
    }

    @Test
    void modelWithoutTemplateFailsChatRequestsAsUnavailable() {
        var cfg = EngineConfig.of(DevChainDeployer.modelsDir().resolve("gguf/stories260K-f32.gguf")).withBackend(BackendKind.CPU).withThreads(1);
        try (RuntimeService rt = new RuntimeService(InferenceEngine.open(cfg), AttachMode.UNMERGED, "stories", new io.micrometer.core.instrument.simple.SimpleMeterRegistry())) {
            assertThat(EngineChatTemplate.of(rt)).isNull();
            assertThatThrownBy(() -> new PromptRenderer(rt, EngineChatTemplate.of(rt)).render(chat("[{\"role\":\"user\",\"content\":\"Hi\"}]")))
                    .isInstanceOfSatisfying(PipelineFailure.class, f -> assertThat(f.code()).isEqualTo(FailureCode.MODEL_UNAVAILABLE));
        }
    }
}
