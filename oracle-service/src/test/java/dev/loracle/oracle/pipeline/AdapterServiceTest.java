package dev.loracle.oracle.pipeline;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class AdapterServiceTest {

    @Test
    void failureReasonsNameAdapterFilesWithoutTheNodesCachePath() {
        Path dir = Path.of("run", "adapter-cache", "bafyexample");
        String absolute = dir.toAbsolutePath().toString();

        assertThat(AdapterService.withoutLocalPath("no adapter_config.json in " + absolute, dir))
                .isEqualTo("no adapter_config.json in <adapter>");
        assertThat(AdapterService.withoutLocalPath("cannot map " + absolute + "/adapter_model.safetensors: bad header", dir))
                .isEqualTo("cannot map adapter_model.safetensors: bad header");
        assertThat(AdapterService.withoutLocalPath("cannot map " + dir + "/adapter_model.safetensors", dir))
                .isEqualTo("cannot map adapter_model.safetensors");
        assertThat(AdapterService.withoutLocalPath(null, dir)).isEmpty();
    }
}
