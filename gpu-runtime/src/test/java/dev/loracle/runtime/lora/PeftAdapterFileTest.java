package dev.loracle.runtime.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The real adapter written by Hugging Face PEFT 0.17.1 for GPT-2 (r=8, alpha=32, c_attn + c_proj, Conv1D). */
class PeftAdapterFileTest {
    static final Path FIXTURE = Path.of(System.getProperty("loracle.models.dir", "../shared/models"))
            .resolve("peft-fixture");

    @Test
    void realGpt2AdapterParsesGenerically() {
        try (PeftAdapterFile f = PeftAdapterFile.open(FIXTURE)) {
            PeftConfig c = f.config();
            assertEquals("LORA", c.peftType());
            assertEquals(8, c.r());
            assertEquals(32.0, c.loraAlpha());
            assertFalse(c.useRslora());
            assertTrue(c.fanInFanOut());
            assertEquals(List.of("c_attn", "c_proj"), c.targetModuleNames());
            assertNull(c.layersToTransform());
            assertEquals("gpt2", c.baseModelNameOrPath());
            assertEquals(4.0f, c.scaleFor("transformer.h.0.attn.c_attn"));
            assertEquals(72, f.weights().tensors().size());
            List<LoraPair> pairs = f.pairs();
            assertEquals(36, pairs.size()); // 12 layers x (attn.c_attn, attn.c_proj, mlp.c_proj)
            Map<String, Long> byName = pairs.stream().collect(Collectors.groupingBy(LoraPair::moduleName,
                    Collectors.counting()));
            assertEquals(Map.of("c_attn", 12L, "c_proj", 24L), byName);
            LoraPair attn = pairs.stream().filter(p -> p.module().equals("transformer.h.5.attn.c_attn"))
                    .findFirst().orElseThrow();
            // Conv1D c_attn maps 768 -> 2304; PEFT stores A [r x in] and B [out x r] despite fan_in_fan_out
            assertEquals(5, attn.layer());
            assertEquals(8, attn.rank());
            assertEquals(768, attn.in());
            assertEquals(2304, attn.out());
            LoraPair mlpProj = pairs.stream().filter(p -> p.module().equals("transformer.h.11.mlp.c_proj"))
                    .findFirst().orElseThrow();
            assertEquals(3072, mlpProj.in());
            assertEquals(768, mlpProj.out());
            for (LoraPair p : pairs) {
                assertTrue(p.layer() >= 0 && p.layer() < 12, p.module());
            }
        }
    }

    @Test
    void realGpt2AdapterIsRefusedAsALlamaAdapter() {
        AdapterValidationException e = assertThrows(AdapterValidationException.class,
                () -> PeftAdapter.load(FIXTURE, LoadOptions.defaults()));
        assertTrue(e.getMessage().contains("module c_attn is not a Llama projection (GPT-2 adapter?)"),
                e.getMessage());
        assertTrue(e.getMessage().startsWith("adapter peft-fixture: "), e.getMessage());
    }

    @Test
    void eitherFileOfTheDirectoryOpensIt() {
        try (PeftAdapterFile f = PeftAdapterFile.open(FIXTURE.resolve("adapter_config.json"))) {
            assertEquals(36, f.pairs().size());
        }
        try (PeftAdapterFile f = PeftAdapterFile.open(FIXTURE.resolve("adapter_model.safetensors"))) {
            assertEquals(36, f.pairs().size());
        }
    }
}
