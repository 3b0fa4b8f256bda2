package dev.loracle.runtime.lora;

import dev.loracle.runtime.safetensors.SafeTensorsDType;
import dev.loracle.runtime.safetensors.SafeTensorsFile;
import dev.loracle.runtime.safetensors.SafeTensorsFormatException;
import dev.loracle.runtime.safetensors.TensorInfo;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A PEFT LoRA adapter as stored, for any base architecture: the checked config and the (A, B) pair of every module.
 * Parsing checks the files' own consistency (keys, pairs, shapes, ranks, targets); {@link #toLlamaAdapter} then maps
 * the modules onto Llama projections and converts the matrices to F32.
 */
public final class PeftAdapterFile implements AutoCloseable {
    public static final String CONFIG_FILE = "adapter_config.json";
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";
    private static final String KEY_PREFIX = "base_model.model.";
    private static final long MAX_CONFIG_BYTES = 1 << 20;
    private static final Pattern LORA_KEY = Pattern.compile("(.+)\\.lora_([AB])\\.weight");
    private static final Pattern LLAMA_MODULE = Pattern.compile(
            "model\\.layers\\.(\\d+)\\.(self_attn\\.(?:q|k|v|o)_proj|mlp\\.(?:gate|up|down)_proj)");

    private final String name;
    private final PeftConfig config;
    private final SafeTensorsFile weights;
    private final List<LoraPair> pairs;

    PeftAdapterFile(String name, PeftConfig config, SafeTensorsFile weights) {
        this.name = name;
        this.config = config;
        this.weights = weights;
        this.pairs = Collections.unmodifiableList(pairUp(name, config, weights));
    }

    /**
     * Opens a PEFT adapter: a directory holding {@value #CONFIG_FILE} and {@value #WEIGHTS_FILE}, or either file.
     *
     * @throws AdapterValidationException on a missing, malformed or unsupported adapter
     */
    public static PeftAdapterFile open(Path dirOrFile) {
        if (!Files.exists(dirOrFile)) {
            throw new AdapterValidationException("PEFT adapter " + dirOrFile + " does not exist");
        }
        Path dir = Files.isDirectory(dirOrFile) ? dirOrFile : dirOrFile.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new AdapterValidationException("PEFT adapter " + dirOrFile + " does not exist");
        }
        String name = dir.getFileName() == null ? dir.toString() : dir.getFileName().toString();
        Path configFile = dir.resolve(CONFIG_FILE);
        Path weightsFile = dir.resolve(WEIGHTS_FILE);
        if (!Files.isRegularFile(configFile)) {
            throw new AdapterValidationException("PEFT adapter " + dir + " has no " + CONFIG_FILE);
        }
        if (!Files.isRegularFile(weightsFile)) {
            String hint = Files.exists(dir.resolve("adapter_model.bin"))
                    ? " (adapter_model.bin, a pickle, is not read: convert it to safetensors)" : "";
            throw new AdapterValidationException("PEFT adapter " + dir + " has no " + WEIGHTS_FILE + hint);
        }
        PeftConfig config = PeftConfig.parse(readConfig(configFile), configFile.toString());
        SafeTensorsFile weights;
        try {
            weights = SafeTensorsFile.open(weightsFile);
        } catch (SafeTensorsFormatException e) {
            throw new AdapterValidationException("PEFT adapter " + name + ": " + e.getMessage(), e);
        } catch (UncheckedIOException e) {
            throw new AdapterValidationException("PEFT adapter " + name + ": " + e.getMessage(), e);
        }
        try {
            return new PeftAdapterFile(name, config, weights);
        } catch (RuntimeException e) {
            weights.close();
            throw e;
        }
    }

    private static byte[] readConfig(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] bytes = in.readNBytes((int) MAX_CONFIG_BYTES + 1);
            if (bytes.length > MAX_CONFIG_BYTES) {
                throw new AdapterValidationException(file + " is larger than " + MAX_CONFIG_BYTES + " bytes");
            }
            return bytes;
        } catch (IOException e) {
            throw new AdapterValidationException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static List<LoraPair> pairUp(String name, PeftConfig config, SafeTensorsFile weights) {
        Map<String, TensorInfo[]> byModule = new TreeMap<>();
        for (TensorInfo t : weights.tensors()) {
            String key = t.name();
            if (key.contains("lora_embedding_A") || key.contains("lora_embedding_B")) {
                throw new AdapterValidationException("adapter " + name + ": embedding LoRA (" + key
                        + ") is not supported");
            }
            if (key.contains("lora_magnitude_vector")) {
                throw new AdapterValidationException("adapter " + name + ": DoRA tensor " + key + " is not supported");
            }
            if (!key.startsWith(KEY_PREFIX)) {
                throw new AdapterValidationException("adapter " + name + ": tensor " + key + " does not start with "
                        + KEY_PREFIX + " (not a PEFT LoRA key)");
            }
            Matcher m = LORA_KEY.matcher(key.substring(KEY_PREFIX.length()));
            if (!m.matches()) {
                String why = key.endsWith(".bias") ? " (LoRA bias is not supported)"
                        : key.contains("modules_to_save") ? " (modules_to_save is not supported)" : "";
                throw new AdapterValidationException("adapter " + name + ": tensor " + key
                        + " is not a lora_A/lora_B weight" + why);
            }
            String module = m.group(1);
            TensorInfo[] pair = byModule.computeIfAbsent(module, k -> new TensorInfo[2]);
            pair[m.group(2).equals("A") ? 0 : 1] = t;
        }
        if (byModule.isEmpty()) {
            throw new AdapterValidationException("adapter " + name + " has no LoRA tensors");
        }
        List<LoraPair> out = new ArrayList<>();
        for (Map.Entry<String, TensorInfo[]> e : byModule.entrySet()) {
            String module = e.getKey();
            TensorInfo a = e.getValue()[0];
            TensorInfo b = e.getValue()[1];
            if (a == null || b == null) {
                throw new AdapterValidationException("adapter " + name + ": module " + module + " has lora_"
                        + (a == null ? "B but no lora_A" : "A but no lora_B"));
            }
            String last = module.substring(module.lastIndexOf('.') + 1);
            if (PeftConfig.EMBEDDING_MODULES.contains(last)) {
                throw new AdapterValidationException("adapter " + name + ": LoRA on " + module
                        + " (embeddings/classifier) is not supported");
            }
            if (a.rank() != 2 || b.rank() != 2) {
                throw new AdapterValidationException("adapter " + name + ": module " + module
                        + " lora_A and lora_B must be matrices, got A " + a.shapeString() + " and B " + b.shapeString());
            }
            long rank = a.dim(0);
            if (b.dim(1) != rank) {
                throw new AdapterValidationException("adapter " + name + ": module " + module + " has A "
                        + a.shapeString() + " [r x in] and B " + b.shapeString() + " [out x r] with different ranks");
            }
            if (rank == 0 || a.dim(1) == 0 || b.dim(0) == 0 || a.dim(1) > Integer.MAX_VALUE
                    || b.dim(0) > Integer.MAX_VALUE) {
                throw new AdapterValidationException("adapter " + name + ": module " + module
                        + " has empty or oversized matrices A " + a.shapeString() + ", B " + b.shapeString());
            }
            int expectedRank = config.rankFor(module);
            if (rank != expectedRank) {
                throw new AdapterValidationException("adapter " + name + ": module " + module + " has rank " + rank
                        + " in the weights but rank " + expectedRank + " in adapter_config.json (r/rank_pattern)");
            }
            if (!config.targets(module)) {
                throw new AdapterValidationException("adapter " + name + ": module " + module
                        + " has weights but is not selected by target_modules/layers_to_transform of"
                        + " adapter_config.json");
            }
            out.add(new LoraPair(module, PeftConfig.layerIndex(module), a, b, (int) rank, (int) a.dim(1),
                    (int) b.dim(0)));
        }
        return out;
    }

    /** The adapter's name (its directory's name). */
    public String name() {
        return name;
    }

    public PeftConfig config() {
        return config;
    }

    /** One pair per module, sorted by module path. */
    public List<LoraPair> pairs() {
        return pairs;
    }

    /** The underlying safetensors file (valid until {@link #close()}). */
    public SafeTensorsFile weights() {
        return weights;
    }

    /**
     * Maps every module onto a Llama projection ({@code model.layers.N.self_attn.q_proj} ...) and copies the matrices
     * to off-heap F32 (NaN/Inf rejected), applying the HF->GGUF Q/K row permutation to B when asked.
     *
     * @throws AdapterValidationException naming the module that is not a Llama projection or holds bad values
     */
    public LoraAdapter toLlamaAdapter(LoadOptions options) {
        String id = options.adapterId() != null ? options.adapterId() : name;
        List<LoraTarget> targets = new ArrayList<>(pairs.size());
        // Freed by the GC with the adapter: adapters are shared between attachments with no single owner.
        Arena arena = Arena.ofAuto();
        for (LoraPair p : pairs) {
            Matcher m = LLAMA_MODULE.matcher(p.module());
            if (!m.matches()) {
                try {
                    ProjectionKind.fromPeftModuleName(p.module());
                } catch (IllegalArgumentException e) {
                    throw new AdapterValidationException("adapter " + id + ": " + e.getMessage());
                }
                throw new AdapterValidationException("adapter " + id + ": module path " + p.module()
                        + " is not a Llama layer projection (expected model.layers.N.self_attn.{q,k,v,o}_proj or"
                        + " model.layers.N.mlp.{gate,up,down}_proj)");
            }
            int layer;
            try {
                layer = Integer.parseInt(m.group(1));
            } catch (NumberFormatException e) {
                throw new AdapterValidationException("adapter " + id + ": layer index of " + p.module()
                        + " is out of range");
            }
            ProjectionKind kind = ProjectionKind.fromPeftModuleName(m.group(2));
            MemorySegment a = arena.allocate((long) p.rank() * p.in() * Float.BYTES, 64);
            MemorySegment b = arena.allocate((long) p.out() * p.rank() * Float.BYTES, 64);
            copyChecked(id, p.a(), a, null);
            int[] rowOrder = null;
            if (options.permuteQk() && (kind == ProjectionKind.Q || kind == ProjectionKind.K)) {
                int heads = kind == ProjectionKind.Q ? options.nHeads() : options.nKvHeads();
                rowOrder = hfToGgufRowOrder(id, p, heads);
            }
            copyChecked(id, p.b(), b, rowOrder);
            targets.add(new LoraTarget(layer, kind, p.rank(), p.in(), p.out(), config.scaleFor(p.module()), a, b));
        }
        return new LoraAdapter(id, ModelShape.LLAMA, targets);
    }

    /**
     * Source row of every destination row: Hugging Face keeps each head's rotary halves apart
     * ([x0..x(h/2-1)], [y0..]) while GGUF/llama2.c interleaves them (x0, y0, x1, y1, ...), so GGUF row
     * {@code head*hd + 2i + j} is HF row {@code head*hd + j*hd/2 + i} (llama.cpp's convert_hf_to_gguf permute).
     */
    static int[] hfToGgufRowOrder(String id, LoraPair p, int heads) {
        if (p.out() % heads != 0 || (p.out() / heads) % 2 != 0) {
            throw new AdapterValidationException("adapter " + id + ": cannot apply the Q/K permutation to " + p.module()
                    + ": " + p.out() + " rows are not " + heads + " heads of an even head size");
        }
        int hd = p.out() / heads;
        int[] order = new int[p.out()];
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < hd / 2; i++) {
                for (int j = 0; j < 2; j++) {
                    order[h * hd + 2 * i + j] = h * hd + j * (hd / 2) + i;
                }
            }
        }
        return order;
    }

    /** Copies a 2-D tensor to F32 (rows reordered when {@code rowOrder} is given), rejecting NaN and infinities. */
    private void copyChecked(String id, TensorInfo t, MemorySegment dst, int[] rowOrder) {
        MemorySegment src = weights.data(t);
        SafeTensorsDType dtype = t.dtype();
        long rows = t.dim(0);
        long cols = t.dim(1);
        for (long r = 0; r < rows; r++) {
            long from = (rowOrder == null ? r : rowOrder[(int) r]) * cols;
            long to = r * cols;
            for (long c = 0; c < cols; c++) {
                float v = dtype.read(src, from + c);
                if (!Float.isFinite(v)) {
                    throw new AdapterValidationException("adapter " + id + ": tensor " + t.name() + " holds " + v
                            + " at [" + (rowOrder == null ? r : rowOrder[(int) r]) + ", " + c + "]");
                }
                dst.setAtIndex(LoraTarget.F32, to + c, v);
            }
        }
    }

    @Override
    public void close() {
        weights.close();
    }
}
