package dev.loracle.runtime.engine;

import dev.loracle.runtime.model.WeightFormat;
import dev.loracle.runtime.tensor.MatVec;
import java.nio.file.Path;
import java.util.Objects;

/**
 * How to open an engine: model file (GGUF, or llama2.c .bin with tokenizer, null = found beside it), weight format,
 * backend, matmul threads, KV cache type, memory red line in bytes, and how quantized matmuls multiply.
 */
public record EngineConfig(Path model, Path tokenizer, WeightFormat quant, BackendKind backend, int threads,
                           KvCacheType kvCache, long redLineBytes, MatVec.DotMode dotMode) {

    /** No red line given: effectively unlimited. */
    public static final long NO_RED_LINE = Long.MAX_VALUE / 4;

    public EngineConfig {
        Objects.requireNonNull(quant, "quant");
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(kvCache, "kvCache");
        Objects.requireNonNull(dotMode, "dotMode");
        if (threads < 1 || threads > 1024) throw new IllegalArgumentException("threads must be in 1..1024, got " + threads);
        if (redLineBytes <= 0) throw new IllegalArgumentException("red line must be > 0 bytes, got " + redLineBytes);
    }

    /** Defaults: as stored in the file, AUTO backend, one thread per processor, F32 KV cache, no red line. */
    public static EngineConfig of(Path model) {
        return new EngineConfig(Objects.requireNonNull(model, "model"), null, WeightFormat.AS_FILE, BackendKind.AUTO,
                Runtime.getRuntime().availableProcessors(), KvCacheType.F32, NO_RED_LINE, MatVec.DotMode.DEFAULT);
    }

    public EngineConfig withTokenizer(Path t) { return new EngineConfig(model, t, quant, backend, threads, kvCache, redLineBytes, dotMode); }
    public EngineConfig withQuant(WeightFormat q) { return new EngineConfig(model, tokenizer, q, backend, threads, kvCache, redLineBytes, dotMode); }
    public EngineConfig withBackend(BackendKind b) { return new EngineConfig(model, tokenizer, quant, b, threads, kvCache, redLineBytes, dotMode); }
    public EngineConfig withThreads(int t) { return new EngineConfig(model, tokenizer, quant, backend, t, kvCache, redLineBytes, dotMode); }
    public EngineConfig withKvCache(KvCacheType k) { return new EngineConfig(model, tokenizer, quant, backend, threads, k, redLineBytes, dotMode); }
    public EngineConfig withRedLineBytes(long r) { return new EngineConfig(model, tokenizer, quant, backend, threads, kvCache, r, dotMode); }
    public EngineConfig withDotMode(MatVec.DotMode d) { return new EngineConfig(model, tokenizer, quant, backend, threads, kvCache, redLineBytes, d); }
}
