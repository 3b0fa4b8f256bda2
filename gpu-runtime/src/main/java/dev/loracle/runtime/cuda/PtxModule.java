package dev.loracle.runtime.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One PTX file packaged under {@code dev/loracle/runtime/cuda/}: its text, its entry points with their parameter
 * widths (parsed from the {@code .entry} declarations), the PTX ISA version and the source digest stamped in by
 * {@code bin/build-ptx}. Pure text handling: usable and testable without a GPU.
 */
public record PtxModule(String name, String text, Map<String, List<ParamType>> entries, int isaMajor, int isaMinor,
                        String sourceSha256, String nvccFlags) {

    /** The PTX files the backend loads (one per .cu in src/main/cuda). */
    public static final List<String> MODULE_NAMES =
            List.of("packed", "rmsnorm", "rope", "attention", "elementwise", "sampling", "lora");

    static final String RESOURCE_DIR = "/dev/loracle/runtime/cuda/";

    /** PTX parameter types as nvcc emits them for our kernels: pointers and long long are .u64, int .u32, float .f32. */
    public enum ParamType {
        U64(8), U32(4), F32(4);

        private final int bytes;

        ParamType(int bytes) { this.bytes = bytes; }

        public int bytes() { return bytes; }

        static ParamType parse(String ptx) {
            return switch (ptx) {
                case "u64", "s64", "b64" -> U64;
                case "u32", "s32", "b32" -> U32;
                case "f32" -> F32;
                default -> throw new IllegalArgumentException("unexpected PTX parameter type ." + ptx);
            };
        }
    }

    private static final Pattern VERSION = Pattern.compile("(?m)^\\.version\\s+(\\d+)\\.(\\d+)");
    private static final Pattern ENTRY = Pattern.compile("\\.entry\\s+(\\w+)\\s*\\(([^)]*)\\)");
    private static final Pattern PARAM = Pattern.compile("\\.param\\s+\\.(\\w+)\\s+\\w+");
    private static final Pattern DIGEST = Pattern.compile("(?m)^// loracle-source-sha256: ([0-9a-f]{64})$");
    private static final Pattern FLAGS = Pattern.compile("(?m)^// loracle-nvcc-flags: (.*)$");

    public PtxModule {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(text, "text");
        entries = Map.copyOf(entries);
    }

    /** Reads and parses the packaged PTX of {@code name}; a missing or malformed resource is a clear error. */
    public static PtxModule load(String name) {
        String path = RESOURCE_DIR + name + ".ptx";
        try (InputStream in = PtxModule.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException("PTX resource " + path + " is missing from the class path "
                        + "(the jar was built without src/main/resources/dev/loracle/runtime/cuda)");
            }
            return parse(name, new String(in.readAllBytes(), StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read PTX resource " + path, e);
        }
    }

    public static List<PtxModule> loadAll() {
        List<PtxModule> all = new ArrayList<>();
        for (String n : MODULE_NAMES) all.add(load(n));
        return all;
    }

    public static PtxModule parse(String name, String text) {
        Matcher v = VERSION.matcher(text);
        if (!v.find()) throw new IllegalArgumentException("PTX " + name + " has no .version directive");
        Map<String, List<ParamType>> entries = new LinkedHashMap<>();
        Matcher e = ENTRY.matcher(text);
        while (e.find()) {
            List<ParamType> params = new ArrayList<>();
            Matcher p = PARAM.matcher(e.group(2));
            while (p.find()) params.add(ParamType.parse(p.group(1)));
            entries.put(e.group(1), List.copyOf(params));
        }
        if (entries.isEmpty()) throw new IllegalArgumentException("PTX " + name + " declares no .entry");
        Matcher d = DIGEST.matcher(text);
        Matcher f = FLAGS.matcher(text);
        return new PtxModule(name, text, entries, Integer.parseInt(v.group(1)), Integer.parseInt(v.group(2)),
                d.find() ? d.group(1) : null, f.find() ? f.group(1).strip() : null);
    }

    /**
     * The oldest NVIDIA driver branch that JIT-compiles this PTX ISA (PTX ISA 9.0 came with CUDA 13.0 and needs
     * driver r580; the 8.x ISAs came with CUDA 12.0..12.9, r525..r575). The PTX checked in here is ISA 9.0.
     */
    public int minimumDriverBranch() {
        if (isaMajor >= 9) return 580;
        if (isaMajor == 8) {
            return switch (isaMinor) {
                case 0 -> 525;
                case 1 -> 530;
                case 2 -> 535;
                case 3 -> 545;
                case 4 -> 550;
                case 5 -> 555;
                case 6, 7 -> 570;
                default -> 575;
            };
        }
        return 450;
    }

    /** The text as cuModuleLoadData wants it: NUL-terminated bytes. */
    public byte[] imageBytes() {
        byte[] b = text.getBytes(StandardCharsets.US_ASCII);
        byte[] z = new byte[b.length + 1];
        System.arraycopy(b, 0, z, 0, b.length);
        return z;
    }
}
