package dev.loracle.runtime.model;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the shared model fixtures: -Dloracle.models.dir, else $ORACLE_MODELS_DIR, else ../shared/models. */
public final class TestModels {
    private TestModels() {}

    public static Path dir() {
        String p = System.getProperty("loracle.models.dir");
        if (p == null || p.isBlank()) p = System.getenv("ORACLE_MODELS_DIR");
        Path d = p != null && !p.isBlank() ? Path.of(p)
                : Path.of(System.getProperty("loracle.root", ".")).resolve("../shared/models");
        d = d.toAbsolutePath().normalize();
        if (!Files.isDirectory(d)) throw new IllegalStateException("models directory not found: " + d + " (set -Dloracle.models.dir)");
        return d;
    }

    public static Path stories260kBin() { return dir().resolve("llama2c/stories260K.bin"); }
    public static Path tok512() { return dir().resolve("llama2c/tok512.bin"); }
    public static Path ggufF32() { return dir().resolve("gguf/stories260K-f32.gguf"); }
    public static Path ggufQ8() { return dir().resolve("gguf/stories260K-q8_0-mixed.gguf"); }
    public static Path ggufQ4() { return dir().resolve("gguf/stories260K-q4_0-mixed.gguf"); }
    public static Path vocabSpm() { return dir().resolve("gguf/ggml-vocab-llama-spm.gguf"); }
}
