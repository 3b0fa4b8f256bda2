package dev.loracle.runtime.model;

import dev.loracle.runtime.tensor.GgmlType;
import dev.loracle.runtime.tensor.QuantizedTensor;
import dev.loracle.runtime.tensor.Quantization;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Quantize-on-load. Matrices whose row length is a multiple of 32 become the requested type; others
 * (stories260K's ffn_down, row length 172) and all norm vectors are held as F32. Converted tensors live
 * off-heap in the given arena; tensors already in the right type stay zero-copy views of the mapping.
 * Types without kernels (BF16) are requantized to Q8_0 when the file's types are kept; one log line says which types
 * and what memory that costs. K-quants (Q4_K, Q5_K, Q6_K) stay in their GGUF layout: the CPU kernels multiply them
 * as stored, the CUDA backend requantizes them to Q8_0 on upload ({@link #requantizeKQuants}).
 */
public final class WeightConverter {
    private WeightConverter() {}

    private static final System.Logger LOG = System.getLogger(WeightConverter.class.getName());

    public static LlamaWeights convert(LlamaWeights w, WeightFormat format, Arena arena) {
        Map<QuantizedTensor, QuantizedTensor> done = new IdentityHashMap<>();
        LlamaWeights out = convert(w, format, arena, done, false);
        logRequantized(done, false);
        return out;
    }

    /**
     * {@code w} with every K-quant matrix requantized to Q8_0 (copies in {@code arena}), for backends whose kernels
     * read only F32/F16/Q8_0/Q4_0; {@code w} itself when it has none.
     */
    public static LlamaWeights requantizeKQuants(LlamaWeights w, Arena arena) {
        boolean any = w.layers().stream().anyMatch(l -> java.util.stream.Stream.of(l.wq(), l.wk(), l.wv(), l.wo(), l.gate(), l.down(), l.up())
                .anyMatch(t -> t.type().kQuant())) || w.tokenEmbedding().type().kQuant() || w.classifier().type().kQuant();
        if (!any) return w;
        Map<QuantizedTensor, QuantizedTensor> done = new IdentityHashMap<>();
        LlamaWeights out = convert(w, WeightFormat.AS_FILE, arena, done, true);
        logRequantized(done, true);
        return out;
    }

    private static void logRequantized(Map<QuantizedTensor, QuantizedTensor> done, boolean kQuants) {
        java.util.Set<GgmlType> types = new java.util.TreeSet<>();
        long from = 0, to = 0;
        for (var e : done.entrySet()) {
            GgmlType t = e.getKey().type();
            if (kQuants ? !t.kQuant() : t.supported()) continue;
            types.add(e.getKey().type());
            from += e.getKey().byteSize();
            to += e.getValue().byteSize();
        }
        if (types.isEmpty()) return;
        LOG.log(System.Logger.Level.INFO, String.format(java.util.Locale.ROOT,
                "tensors of type %s have no kernels %s: requantized to Q8_0 (%.1f MiB in the file, %.1f MiB in memory, %+.1f MiB)",
                types, kQuants ? "on this device" : "here", from / 1048576.0, to / 1048576.0, (to - from) / 1048576.0));
    }

    private static LlamaWeights convert(LlamaWeights w, WeightFormat format, Arena arena, Map<QuantizedTensor, QuantizedTensor> done,
                                        boolean kQuantsToQ8) {
        List<LlamaWeights.Layer> layers = new ArrayList<>();
        for (LlamaWeights.Layer l : w.layers()) {
            layers.add(new LlamaWeights.Layer(
                    vector(l.attnNorm(), arena, done), matrix(l.wq(), format, arena, done, kQuantsToQ8), matrix(l.wk(), format, arena, done, kQuantsToQ8),
                    matrix(l.wv(), format, arena, done, kQuantsToQ8), matrix(l.wo(), format, arena, done, kQuantsToQ8), vector(l.ffnNorm(), arena, done),
                    matrix(l.gate(), format, arena, done, kQuantsToQ8), matrix(l.down(), format, arena, done, kQuantsToQ8), matrix(l.up(), format, arena, done, kQuantsToQ8),
                    vectorOrNull(l.bq(), arena, done), vectorOrNull(l.bk(), arena, done), vectorOrNull(l.bv(), arena, done),
                    vectorOrNull(l.qNorm(), arena, done), vectorOrNull(l.kNorm(), arena, done)));
        }
        QuantizedTensor emb = matrix(w.tokenEmbedding(), format, arena, done, kQuantsToQ8);
        QuantizedTensor cls = matrix(w.classifier(), format, arena, done, kQuantsToQ8); // identity map keeps a shared classifier shared
        return new LlamaWeights(w.config(), emb, layers, vector(w.outputNorm(), arena, done), cls,
                vectorOrNull(w.ropeFreqs(), arena, done));
    }

    private static QuantizedTensor vectorOrNull(QuantizedTensor t, Arena arena, Map<QuantizedTensor, QuantizedTensor> done) {
        return t == null ? null : vector(t, arena, done);
    }

    /** The type a matrix of row length {@code cols} gets under {@code format} (Q8_0 for a file type without kernels). */
    public static GgmlType targetType(GgmlType source, long cols, WeightFormat format) {
        GgmlType want = format.type() != null ? format.type() : source.supported() ? source : GgmlType.Q8_0;
        if (cols % want.blockSize() != 0) return GgmlType.F32;
        return want;
    }

    private static QuantizedTensor vector(QuantizedTensor t, Arena arena, Map<QuantizedTensor, QuantizedTensor> done) {
        return done.computeIfAbsent(t, x -> x.type() == GgmlType.F32 ? x : recode(x, GgmlType.F32, arena));
    }

    private static QuantizedTensor matrix(QuantizedTensor t, WeightFormat format, Arena arena, Map<QuantizedTensor, QuantizedTensor> done,
                                          boolean kQuantsToQ8) {
        return done.computeIfAbsent(t, x -> {
            GgmlType target = kQuantsToQ8 && x.type().kQuant() ? GgmlType.Q8_0 : targetType(x.type(), x.cols(), format);
            return target == x.type() ? x : recode(x, target, arena);
        });
    }

    /** Decodes each row to F32 and encodes it as {@code target}, rows in parallel. */
    public static QuantizedTensor recode(QuantizedTensor t, GgmlType target, Arena arena) {
        long rowBytes = target.bytesFor(t.cols());
        MemorySegment dst = arena.allocate(rowBytes * t.rows(), 64);
        int cols = Math.toIntExact(t.cols());
        IntStream.range(0, Math.toIntExact(t.rows())).parallel().forEach(r -> {
            float[] row = new float[cols];
            t.dequantizeRow(r, row, 0);
            Quantization.quantize(target, row, 0, cols, dst, r * rowBytes);
        });
        return new QuantizedTensor(t.name(), target, t.rows(), t.cols(), dst);
    }
}
