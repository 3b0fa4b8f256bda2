package dev.loracle.runtime.engine;

import dev.loracle.runtime.model.WeightFormat;
import dev.loracle.runtime.tensor.MatVec;
import java.nio.file.Path;
import java.util.Objects;

/**
 * How to open an engine: model file (GGUF, or llama2.c .bin with tokenizer, null = found beside it), weight format,
 * backend, matmul threads, KV cache type, memory red line in bytes, how quantized matmuls multiply, and the
 * scheduler's limits: tokens per step (decode tokens plus prompt chunks) and sequences running at once, and whether
 * finished sequences' full KV blocks stay resident as a prefix cache (reclaimable: evicted LRU when room is needed).
 */
public record EngineConfig(Path model, Path tokenizer, WeightFormat quant, BackendKind backend, int threads,
                           KvCacheType kvCache, long redLineBytes, MatVec.DotMode dotMode, int stepTokens, int maxRunning, boolean prefixCache) {

    /** No red line given: effectively unlimited. */
    public static final long NO_RED_LINE = Long.MAX_VALUE / 4;

    public EngineConfig {
        Objects.requireNonNull(quant, "quant");
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(kvCache, "kvCache");
        Objects.requireNonNull(dotMode, "dotMode");
        if (threads < 1 || threads > 1024) throw new IllegalArgumentException("threads must be in 1..1024, got " + threads);
        if (redLineBytes <= 0) throw new IllegalArgumentException("red line must be > 0 bytes, got " + redLineBytes);
        if (stepTokens < 1) throw new IllegalArgumentException("step tokens must be >= 1, got " + stepTokens);
        if (maxRunning < 1) throw new IllegalArgumentException("max running sequences must be >= 1, got " + maxRunning);
    }

    /** Defaults: as stored in the file, AUTO backend, one thread per processor, F32 KV cache, no red line, 256 tokens per step, 64 sequences. */
    public static EngineConfig of(Path model) {
        return new EngineConfig(Objects.requireNonNull(model, "model"), null, WeightFormat.AS_FILE, BackendKind.AUTO,
                Runtime.getRuntime().availableProcessors(), KvCacheType.F32, NO_RED_LINE, MatVec.DotMode.DEFAULT, 256, 64, false);
    }

    public EngineConfig withTokenizer(Path t) { return new EngineConfig(model, t, quant, backend, threads, kvCache, redLineBytes, dotMode, stepTokens, maxRunning, prefixCache); }
    public EngineConfig withQuant(WeightFormat q) { return new EngineConfig(model, tokenizer, q, backend, threads, kvCache, redLineBytes, dotMode, stepTokens, maxRunning, prefixCache); }
    public EngineConfig withBackend(BackendKind b) { return new EngineConfig(model, tokenizer, quant, b, threads, kvCache, redLineBytes, dotMode, stepTokens, maxRunning, prefixCache); }
    public EngineConfig withThreads(int t) { return new EngineConfig(model, tokenizer, quant, backend, t, kvCache, redLineBytes, dotMode, stepTokens, maxRunning, prefixCache); }
    public EngineConfig withKvCache(KvCacheType k) { return new EngineConfig(model, tokenizer, quant, backend, threads, k, redLineBytes, dotMode, stepTokens, maxRunning, prefixCache); }
    public EngineConfig withRedLineBytes(long r) { return new EngineConfig(model, tokenizer, quant, backend, threads, kvCache, r, dotMode, stepTokens, maxRunning, prefixCache); }
    public EngineConfig withDotMode(MatVec.DotMode d) { return new EngineConfig(model, tokenizer, quant, backend, threads, kvCache, redLineBytes, d, stepTokens, maxRunning, prefixCache); }
    public EngineConfig withStepTokens(int n) { return new EngineConfig(model, tokenizer, quant, backend, threads, kvCache, redLineBytes, dotMode, n, maxRunning, prefixCache); }
    public EngineConfig withMaxRunning(int n) { return new EngineConfig(model, tokenizer, quant, backend, threads, kvCache, redLineBytes, dotMode, stepTokens, n, prefixCache); }
    public EngineConfig withPrefixCache(boolean on) { return new EngineConfig(model, tokenizer, quant, backend, threads, kvCache, redLineBytes, dotMode, stepTokens, maxRunning, on); }
}
