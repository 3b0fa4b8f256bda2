package dev.loracle.runtime.cuda;

import dev.loracle.runtime.cuda.BatchKernels.Weights;
import dev.loracle.runtime.engine.plan.RopeSpec;
import dev.loracle.runtime.lora.ProjectionKind;
import dev.loracle.runtime.memory.MemoryCategory;
import dev.loracle.runtime.model.LlamaWeights;
import dev.loracle.runtime.model.ModelConfig;
import dev.loracle.runtime.tensor.GgmlType;
import dev.loracle.runtime.tensor.QuantizedTensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The base model on the device, in the layout the step kernels read: Q8_0/Q4_0 repacked ({@link PackedLayout}), the
 * q, k and v rows of a layer concatenated into one matrix (one launch reads the three; qkv rows are [q | k | v]) and
 * the gate and up rows likewise (the fused SwiGLU kernel reads both), when their types agree; norms, biases and the
 * RoPE cos/sin tables as F32. Everything is BASE_WEIGHTS and never written after the upload.
 */
final class ResidentWeights {
    static final String OWNER = "base-weights";

    /** One projection's place on the device: the matrix holding its rows and the first of them there. */
    record Slot(Weights matrix, int firstRow, int rows) {
        Weights weights() { return matrix.rows(firstRow, rows); }
    }

    /** One layer. qkv / gateUp are the fused matrices, or null when their types differ (then the slots point apart). */
    record Layer(DevicePtr attnNorm, DevicePtr ffnNorm, Weights qkv, Weights gateUp, Map<ProjectionKind, Slot> slots,
                 DevicePtr qkvBias, DevicePtr qNorm, DevicePtr kNorm) {
        Slot slot(ProjectionKind k) { return slots.get(k); }
    }

    final ModelConfig cfg;
    final Weights embedding, classifier;
    final DevicePtr outputNorm, ropeCos, ropeSin;
    final List<Layer> layers = new ArrayList<>();
    /** Source tensors by GGUF name with their device matrix (digests read these back). */
    final Map<String, Slot> byName = new LinkedHashMap<>();
    private final DeviceMemoryPool pool;
    private final DeviceRuntime device;

    ResidentWeights(DeviceRuntime device, DeviceMemoryPool pool, LlamaWeights w, RopeSpec rope) {
        this.device = device;
        this.pool = pool;
        this.cfg = w.config();
        embedding = upload(w.tokenEmbedding());
        classifier = w.classifier() == w.tokenEmbedding() ? embedding : upload(w.classifier());
        outputNorm = f32(w.outputNorm());
        for (LlamaWeights.Layer l : w.layers()) {
            Map<ProjectionKind, Slot> slots = new java.util.EnumMap<>(ProjectionKind.class);
            Weights qkv = group(List.of(l.wq(), l.wk(), l.wv()), List.of(ProjectionKind.Q, ProjectionKind.K, ProjectionKind.V), slots);
            Weights gateUp = group(List.of(l.gate(), l.up()), List.of(ProjectionKind.GATE, ProjectionKind.UP), slots);
            slots.put(ProjectionKind.O, new Slot(upload(l.wo()), 0, (int) l.wo().rows()));
            slots.put(ProjectionKind.DOWN, new Slot(upload(l.down()), 0, (int) l.down().rows()));
            DevicePtr bias = null;
            if (l.bq() != null || l.bk() != null || l.bv() != null) {
                float[] b = new float[cfg.qDim() + 2 * cfg.kvDim()];
                copyInto(l.bq(), b, 0);
                copyInto(l.bk(), b, cfg.qDim());
                copyInto(l.bv(), b, cfg.qDim() + cfg.kvDim());
                bias = floats(b);
            }
            layers.add(new Layer(f32(l.attnNorm()), f32(l.ffnNorm()), qkv, gateUp, slots, bias,
                    l.qNorm() == null ? null : f32(l.qNorm()), l.kNorm() == null ? null : f32(l.kNorm())));
        }
        DevicePtr[] tables = ropeTables(rope);
        ropeCos = tables[0];
        ropeSin = tables[1];
    }

    /** Concatenates tensors of one type into one matrix; otherwise uploads them one by one. Returns the fused one or null. */
    private Weights group(List<QuantizedTensor> ts, List<ProjectionKind> kinds, Map<ProjectionKind, Slot> slots) {
        GgmlType type = ts.getFirst().type();
        long cols = ts.getFirst().cols();
        boolean fusable = ts.stream().allMatch(t -> t.type() == type && t.cols() == cols);
        if (!fusable) {
            for (int i = 0; i < ts.size(); i++) {
                slots.put(kinds.get(i), new Slot(upload(ts.get(i)), 0, (int) ts.get(i).rows()));
            }
            return null;
        }
        int rows = ts.stream().mapToInt(t -> (int) t.rows()).sum();
        long bytes = ts.stream().mapToLong(QuantizedTensor::byteSize).sum();
        DeviceBuffer b = pool.allocate(MemoryCategory.BASE_WEIGHTS, bytes, OWNER);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment gguf = arena.allocate(bytes, 16), packed = arena.allocate(bytes, 16);
            long off = 0;
            for (QuantizedTensor t : ts) {
                MemorySegment.copy(t.bytes(), 0, gguf, off, t.byteSize());
                off += t.byteSize();
            }
            PackedLayout.pack(type, gguf, packed, rows, (int) cols);
            device.upload(packed, b.ptr());
        }
        Weights fused = Weights.of(type, b.ptr(), rows, (int) cols);
        int first = 0;
        for (int i = 0; i < ts.size(); i++) {
            Slot s = new Slot(fused, first, (int) ts.get(i).rows());
            slots.put(kinds.get(i), s);
            byName.put(ts.get(i).name(), s);
            first += (int) ts.get(i).rows();
        }
        return fused;
    }

    private Weights upload(QuantizedTensor t) {
        BatchKernels.checkType(t.type());
        int rows = (int) t.rows(), cols = (int) t.cols();
        DeviceBuffer b = pool.allocate(MemoryCategory.BASE_WEIGHTS, t.byteSize(), OWNER);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment packed = arena.allocate(t.byteSize(), 16);
            PackedLayout.pack(t.type(), t.bytes(), packed, rows, cols);
            device.upload(packed, b.ptr());
        }
        Weights w = Weights.of(t.type(), b.ptr(), rows, cols);
        byName.put(t.name(), new Slot(w, 0, rows));
        return w;
    }

    /** Norm weights and biases as F32 (dequantized on the host when stored otherwise). */
    private DevicePtr f32(QuantizedTensor t) {
        float[] v = new float[Math.toIntExact(t.elements())];
        for (long r = 0; r < t.rows(); r++) t.dequantizeRow(r, v, Math.toIntExact(r * t.cols()));
        return floats(v);
    }

    private static void copyInto(QuantizedTensor t, float[] dst, int off) {
        if (t == null) return;
        float[] v = new float[Math.toIntExact(t.elements())];
        t.dequantizeRow(0, v, 0);
        System.arraycopy(v, 0, dst, off, v.length);
    }

    private DevicePtr floats(float[] v) {
        DeviceBuffer b = pool.allocate(MemoryCategory.BASE_WEIGHTS, 4L * v.length, OWNER);
        device.upload(MemorySegment.ofArray(v), b.ptr());
        return b.ptr();
    }

    /**
     * cos/sin of every (position, pair) for the whole context from the plan's {@link RopeSpec} (frequency factors,
     * LINEAR/YARN scaling, magnitude folded in), the numbers the CPU executor uses; the kernel only looks them up.
     */
    private DevicePtr[] ropeTables(RopeSpec rope) {
        int half = cfg.headSize() / 2, ctx = cfg.contextLength();
        float[] cos = new float[ctx * half], sin = new float[ctx * half], c = new float[half], s = new float[half];
        for (int pos = 0; pos < ctx; pos++) {
            rope.cosSin(pos, c, s);
            System.arraycopy(c, 0, cos, pos * half, half);
            System.arraycopy(s, 0, sin, pos * half, half);
        }
        return new DevicePtr[] {floats(cos), floats(sin)};
    }

    /** sha256 of every base tensor as it sits on the device (its own rows of the fused matrices). */
    Map<String, byte[]> digests() {
        Map<String, byte[]> out = new LinkedHashMap<>();
        try (Arena arena = Arena.ofConfined()) {
            for (var e : byName.entrySet()) {
                Weights w = e.getValue().weights();
                long q = PackedLayout.scalesOffset(w.type(), w.rows(), w.cols());
                long s = w.type().quantized() ? 2L * w.rows() * (w.cols() / GgmlType.QK) : 0;
                MemorySegment host = arena.allocate(q + s);
                device.download(w.data(), host.asSlice(0, q));
                if (s > 0) device.download(w.scales(), host.asSlice(q, s));
                java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
                sha.update(host.asByteBuffer());
                out.put(e.getKey(), sha.digest());
            }
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        return out;
    }
}
