package dev.loracle.runtime.lora;

import dev.loracle.runtime.safetensors.SafeTensorsDType;
import dev.loracle.runtime.safetensors.SafeTensorsFile;
import dev.loracle.runtime.safetensors.SafeTensorsWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * A PEFT LoRA adapter held in memory (config + F32 matrices by PEFT key), and the entry point to load adapters from
 * PEFT directories. Random adapters for a model shape are written as real PEFT directories for tests, demos and
 * benchmarks.
 */
public final class PeftAdapter {
    private final PeftConfig config;
    private final Map<String, float[]> tensors;
    private final Map<String, long[]> shapes;

    private PeftAdapter(PeftConfig config, Map<String, float[]> tensors, Map<String, long[]> shapes) {
        this.config = config;
        this.tensors = tensors;
        this.shapes = shapes;
    }

    /**
     * Loads a PEFT directory (or either of its two files) as a Llama adapter.
     *
     * @throws AdapterValidationException with a clear message on anything malformed or unsupported
     */
    public static LoraAdapter load(Path dirOrFile, LoadOptions options) {
        Objects.requireNonNull(options, "options");
        try (PeftAdapterFile file = PeftAdapterFile.open(dirOrFile)) {
            return file.toLlamaAdapter(options);
        }
    }

    /**
     * A random adapter on {@code kinds} of every layer of {@code shape}. A ~ U(-1/sqrt(in), 1/sqrt(in)) (PEFT's
     * Kaiming-uniform init scale), B ~ U(-0.1, 0.1) (PEFT starts B at zero; a trained adapter has not), so the delta
     * is a visible fraction of typical weights. Same arguments, same adapter.
     */
    public static PeftAdapter randomForShape(ModelShape shape, int rank, float alpha, Set<ProjectionKind> kinds,
                                             long seed) {
        Objects.requireNonNull(shape, "shape");
        if (rank <= 0) {
            throw new IllegalArgumentException("rank must be positive, got " + rank);
        }
        if (!Float.isFinite(alpha)) {
            throw new IllegalArgumentException("alpha must be finite, got " + alpha);
        }
        if (kinds.isEmpty()) {
            throw new IllegalArgumentException("at least one projection kind is needed");
        }
        EnumSet<ProjectionKind> sorted = EnumSet.copyOf(kinds);
        SplittableRandom random = new SplittableRandom(seed);
        Map<String, float[]> tensors = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (int layer = 0; layer < shape.nLayers(); layer++) {
            for (ProjectionKind k : sorted) {
                int in = shape.inDim(k);
                int out = shape.outDim(k);
                String prefix = "base_model.model." + k.peftModulePath(layer);
                float[] a = new float[Math.multiplyExact(rank, in)];
                double bound = 1.0 / Math.sqrt(in);
                for (int i = 0; i < a.length; i++) {
                    a[i] = (float) random.nextDouble(-bound, bound);
                }
                float[] b = new float[Math.multiplyExact(out, rank)];
                for (int i = 0; i < b.length; i++) {
                    b[i] = (float) random.nextDouble(-0.1, 0.1);
                }
                tensors.put(prefix + ".lora_A.weight", a);
                shapes.put(prefix + ".lora_A.weight", new long[] {rank, in});
                tensors.put(prefix + ".lora_B.weight", b);
                shapes.put(prefix + ".lora_B.weight", new long[] {out, rank});
            }
        }
        List<String> targetModules = new ArrayList<>();
        for (ProjectionKind k : sorted) {
            targetModules.add(k.peftName());
        }
        PeftConfig config = PeftConfig.simple(rank, alpha, targetModules, "loracle-random-" + shape.architecture()
                + "-dim" + shape.dim() + "-layers" + shape.nLayers());
        return new PeftAdapter(config, tensors, shapes);
    }

    public PeftConfig config() {
        return config;
    }

    /** PEFT keys in file order. */
    public List<String> tensorNames() {
        return List.copyOf(tensors.keySet());
    }

    /** A copy of the F32 values of {@code key}. */
    public float[] tensor(String key) {
        float[] t = tensors.get(key);
        if (t == null) {
            throw new IllegalArgumentException("no tensor " + key);
        }
        return t.clone();
    }

    public long[] shape(String key) {
        long[] s = shapes.get(key);
        if (s == null) {
            throw new IllegalArgumentException("no tensor " + key);
        }
        return s.clone();
    }

    /** Writes {@code adapter_config.json} and {@code adapter_model.safetensors} (F32) into {@code dir}, creating it. */
    public void write(Path dir) {
        write(dir, SafeTensorsDType.F32);
    }

    /** As {@link #write(Path)} with the matrices stored as {@code dtype} (F16/BF16 round to nearest even). */
    public void write(Path dir, SafeTensorsDType dtype) {
        try {
            Files.createDirectories(dir);
            Files.write(dir.resolve(PeftAdapterFile.CONFIG_FILE), config.toJson());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write PEFT adapter to " + dir + ": " + e.getMessage(), e);
        }
        safetensors(dtype).writeTo(dir.resolve(PeftAdapterFile.WEIGHTS_FILE));
    }

    /** The adapter as {@link #write} then {@link #load} would give it (F32), without touching the disk. */
    public LoraAdapter toLoraAdapter(String id) {
        byte[] image = safetensors(SafeTensorsDType.F32).toBytes();
        SafeTensorsFile file = SafeTensorsFile.parse(MemorySegment.ofArray(image), SafeTensorsFile.Limits.DEFAULT);
        try (PeftAdapterFile peft = new PeftAdapterFile(id, config, file)) {
            return peft.toLlamaAdapter(LoadOptions.defaults().withId(id));
        }
    }

    private SafeTensorsWriter safetensors(SafeTensorsDType dtype) {
        SafeTensorsWriter w = new SafeTensorsWriter().metadata("format", "pt");
        for (Map.Entry<String, float[]> e : tensors.entrySet()) {
            w.addFloats(e.getKey(), dtype, shapes.get(e.getKey()), e.getValue());
        }
        return w;
    }

    @Override
    public String toString() {
        return "PeftAdapter[r=" + config.r() + ", alpha=" + config.loraAlpha() + ", targets="
                + config.targetModuleNames() + ", " + tensors.size() + " tensors]";
    }

    /** Unmodifiable view for tests. */
    Map<String, float[]> tensorsView() {
        return Collections.unmodifiableMap(tensors);
    }
}
