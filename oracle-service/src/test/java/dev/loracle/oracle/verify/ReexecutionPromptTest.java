package dev.loracle.oracle.verify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loracle.contracts.devchain.DevChainDeployer;
import dev.loracle.oracle.journal.InferenceSpec;
import dev.loracle.oracle.journal.PromptFormat;
import dev.loracle.oracle.journal.RequestOrigin;
import dev.loracle.oracle.pipeline.EngineChatTemplate;
import dev.loracle.oracle.pipeline.PromptRenderer;
import dev.loracle.oracle.runtime.RuntimeService;
import dev.loracle.runtime.engine.AttachMode;
import dev.loracle.runtime.engine.BackendKind;
import dev.loracle.runtime.engine.EngineConfig;
import dev.loracle.runtime.engine.InferenceEngine;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code verify} re-executes a CHAT request from the text the node generated from: the same template, the same render. */
class ReexecutionPromptTest {
    private static final String MESSAGES = "[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Hi\"}]";

    private static InferenceSpec spec(PromptFormat format, String prompt) {
        return new InferenceSpec(InferenceSpec.chainId(BigInteger.ONE), RequestOrigin.CHAIN, null, "0x00", List.of(),
                prompt.getBytes(StandardCharsets.UTF_8), 8, 0, 10_000, BigInteger.ZERO, 0, 0, BigInteger.ZERO, null, 0, format);
    }

    private static InferenceEngine open(String path) {
        return InferenceEngine.open(EngineConfig.of(DevChainDeployer.modelsDir().resolve(path)).withBackend(BackendKind.CPU).withThreads(1));
    }

    @Test
    void chatRequestsAreRenderedAsTheNodeRendersThem() throws Exception {
        try (RuntimeService node = new RuntimeService(open("arch/qwen2-tiny.gguf"), AttachMode.UNMERGED, "qwen", new SimpleMeterRegistry())) {
            String nodeText = new PromptRenderer(node, EngineChatTemplate.of(node)).render(spec(PromptFormat.CHAT, MESSAGES));
            assertThat(Reexecution.prompt(spec(PromptFormat.CHAT, MESSAGES), node.engine()))
                    .isEqualTo(nodeText).startsWith("<|im_start|>system\nBe brief.<|im_end|>");
            assertThat(Reexecution.prompt(spec(PromptFormat.RAW, MESSAGES), node.engine())).isEqualTo(MESSAGES);
        }
    }

    @Test
    void chatRequestsThatCannotBeRenderedCannotBeChecked() {
        try (InferenceEngine stories = open("gguf/stories260K-f32.gguf"); InferenceEngine qwen = open("arch/qwen2-tiny.gguf")) {
            assertThatThrownBy(() -> Reexecution.prompt(spec(PromptFormat.CHAT, MESSAGES), stories))
                    .isInstanceOf(OnChainResult.Unavailable.class).hasMessageContaining("no chat template");
            assertThatThrownBy(() -> Reexecution.prompt(spec(PromptFormat.CHAT, "not json"), qwen))
                    .isInstanceOf(OnChainResult.Unavailable.class).hasMessageContaining("PROMPT_INVALID");
        }
    }
}
