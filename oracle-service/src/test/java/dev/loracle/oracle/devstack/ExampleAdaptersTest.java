package dev.loracle.oracle.devstack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loracle.runtime.lora.LoadOptions;
import dev.loracle.runtime.lora.LoraAdapter;
import dev.loracle.runtime.lora.LoraTarget;
import dev.loracle.runtime.lora.ModelShape;
import dev.loracle.runtime.lora.PeftAdapter;
import dev.loracle.runtime.lora.ProjectionKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The demo's style adapters are generated for the served model's shape and load on it the way the node loads them. */
class ExampleAdaptersTest {
    static List<ModelShape> shapes() {
        return List.of(ExampleAdapters.STORIES_260K,
                // llama3-tiny: GQA, vocab 128256
                new ModelShape("llama", 128, 384, 2, 4, 2, 128256),
                // qwen2-tiny
                new ModelShape("qwen2", 128, 384, 2, 4, 2, 151669),
                // a Qwen3-style shape whose query width (heads x head size) differs from dim
                new ModelShape("qwen3", 96, 256, 3, 4, 2, 1000, 32));
    }

    @ParameterizedTest
    @MethodSource("shapes")
    void everyStyleMatchesTheShapeItWasMadeFor(ModelShape shape, @TempDir Path dir) {
        List<ExampleAdapters.Written> written = ExampleAdapters.writeAll(dir, shape);
        assertThat(written).extracting(w -> w.style().name()).containsExactly("whimsy", "calm");
        for (ExampleAdapters.Written w : written) {
            LoraAdapter adapter = PeftAdapter.load(w.directory(), LoadOptions.defaults());
            adapter.validateAgainst(shape); // what the node does after fetching it
            Set<ProjectionKind> kinds = w.style().kinds();
            assertThat(adapter.targets()).hasSize(shape.nLayers() * kinds.size());
            for (int layer = 0; layer < shape.nLayers(); layer++) {
                for (ProjectionKind kind : kinds) {
                    LoraTarget t = adapter.target(layer, kind).orElseThrow();
                    assertThat(t.out()).as("%s rows, layer %d", kind, layer).isEqualTo(shape.outDim(kind));
                    assertThat(t.in()).as("%s columns, layer %d", kind, layer).isEqualTo(shape.inDim(kind));
                    assertThat(t.rank()).isEqualTo(w.style().rank());
                }
            }
            assertThat(adapter.targets().stream().map(LoraTarget::kind).collect(Collectors.toSet()))
                    .isEqualTo(kinds);
        }
    }

    @Test
    void anAdapterForOneShapeIsRefusedByAnother(@TempDir Path dir) {
        ModelShape llama3 = shapes().get(1);
        Path whimsy = ExampleAdapters.writeAll(dir, llama3).getFirst().directory();
        LoraAdapter adapter = PeftAdapter.load(whimsy, LoadOptions.defaults());
        assertThatThrownBy(() -> adapter.validateAgainst(ExampleAdapters.STORIES_260K))
                .hasMessageContaining("shape mismatch");
    }

    @Test
    void theSameShapeGivesTheSameBytes(@TempDir Path dir) throws Exception {
        ModelShape shape = shapes().get(2);
        Path first = ExampleAdapters.writeAll(dir.resolve("a"), shape).get(1).directory();
        Path second = ExampleAdapters.writeAll(dir.resolve("b"), shape).get(1).directory();
        for (String file : List.of("adapter_config.json", "adapter_model.safetensors")) {
            assertThat(Files.readAllBytes(first.resolve(file))).as(file).isEqualTo(Files.readAllBytes(second.resolve(file)));
        }
    }

    @Test
    void anArchitectureOutsideTheLlamaLayoutIsRefusedByName(@TempDir Path dir) {
        ModelShape gpt2 = new ModelShape("gpt2", 64, 256, 2, 4, 4, 500);
        assertThatThrownBy(() -> ExampleAdapters.writeAll(dir, gpt2))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'gpt2'");
        assertThat(dir).isEmptyDirectory();
    }
}
