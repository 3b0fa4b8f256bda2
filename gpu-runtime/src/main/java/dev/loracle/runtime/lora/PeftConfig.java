package dev.loracle.runtime.lora;

import dev.loracle.runtime.safetensors.BoundedJsonReader;
import dev.loracle.runtime.safetensors.JsonFormatException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * The LoRA part of a PEFT {@code adapter_config.json}, with what we refuse rejected on parse: other PEFT types, DoRA,
 * bias training, modules_to_save, trainable token indices, layer replication, parameter targets and QA-LoRA.
 * Missing {@code r} and {@code lora_alpha} take PEFT's defaults (8 and 8); unknown keys are ignored (PEFT adds
 * fields in every release).
 *
 * @param targetModuleNames  {@code target_modules} given as a list (null when it is a regex)
 * @param targetModuleRegex  {@code target_modules} given as a string: a regex that must match the whole module name
 * @param layersToTransform  layer indices that may carry LoRA (null = all)
 */
public record PeftConfig(String peftType, int r, double loraAlpha, boolean useRslora, Map<String, Integer> rankPattern,
                         Map<String, Double> alphaPattern, List<String> targetModuleNames, String targetModuleRegex,
                         List<Integer> layersToTransform, boolean fanInFanOut, String baseModelNameOrPath,
                         String taskType) {

    /** PEFT's {@code target_modules} shorthand for all linear layers except the output head. */
    static final String ALL_LINEAR = "all-linear";

    /** Embedding/classifier module names of Llama and GPT-2 models, which we do not adapt. */
    static final java.util.Set<String> EMBEDDING_MODULES = java.util.Set.of("embed_tokens", "lm_head", "wte", "wpe");

    /** PEFT's default layer-index pattern: the number after the last ".name." group before the module. */
    private static final Pattern LAYER_INDEX = Pattern.compile(".*\\.[^.]*\\.(\\d+)\\.");

    /** Configs are a few KiB and nest 3 levels; the bounds leave room for PEFT's growth, not for hostile input. */
    private static final BoundedJsonReader JSON = new BoundedJsonReader(64, 1 << 20, 64 * 1024, 1 << 20);

    public PeftConfig {
        if (r <= 0) {
            throw new AdapterValidationException("adapter_config.json: r must be a positive integer, got " + r);
        }
        if (!Double.isFinite(loraAlpha)) {
            throw new AdapterValidationException("adapter_config.json: lora_alpha must be finite, got " + loraAlpha);
        }
        if ((targetModuleNames == null) == (targetModuleRegex == null)) {
            throw new AdapterValidationException("adapter_config.json: exactly one of a target_modules list or regex");
        }
        rankPattern = Collections.unmodifiableMap(new LinkedHashMap<>(rankPattern));
        alphaPattern = Collections.unmodifiableMap(new LinkedHashMap<>(alphaPattern));
        targetModuleNames = targetModuleNames == null ? null : List.copyOf(targetModuleNames);
        layersToTransform = layersToTransform == null ? null : List.copyOf(layersToTransform);
        if (targetModuleRegex != null && !targetModuleRegex.equals(ALL_LINEAR)) {
            compile(targetModuleRegex, "target_modules");
        }
        for (String k : rankPattern.keySet()) {
            compile("(.*\\.)?(" + k + ")$", "rank_pattern key " + k);
        }
        for (String k : alphaPattern.keySet()) {
            compile("(.*\\.)?(" + k + ")$", "alpha_pattern key " + k);
        }
    }

    /** A plain config as {@link PeftAdapter#randomForShape} writes it. */
    public static PeftConfig simple(int r, double alpha, List<String> targetModules, String baseModel) {
        return new PeftConfig("LORA", r, alpha, false, Map.of(), Map.of(), targetModules, null, null, false,
                baseModel, "CAUSAL_LM");
    }

    /** Parses and checks {@code adapter_config.json}; {@code source} names the file in errors. */
    public static PeftConfig parse(byte[] json, String source) {
        JsonNode m;
        try {
            m = JSON.read(json);
        } catch (JsonFormatException e) {
            throw new AdapterValidationException(source + " is not valid JSON: " + e.getMessage());
        }
        if (!m.isObject()) {
            throw new AdapterValidationException(source + " is not a JSON object");
        }
        Reader c = new Reader(m, source);
        String peftType = c.string("peft_type", null);
        if (peftType == null) {
            throw new AdapterValidationException(source + ": peft_type is missing (expected \"LORA\")");
        }
        if (!peftType.equals("LORA")) {
            throw new AdapterValidationException(source + ": peft_type " + peftType + " is not supported (only LORA)");
        }
        if (c.bool("use_dora", false)) {
            throw new AdapterValidationException(source + ": DoRA adapters (use_dora: true) are not supported");
        }
        String bias = c.string("bias", "none");
        if (!bias.equals("none")) {
            throw new AdapterValidationException(source + ": bias \"" + bias
                    + "\" is not supported: adapters that train biases change more than the low-rank delta; only"
                    + " \"none\" is accepted");
        }
        if (c.bool("lora_bias", false)) {
            throw new AdapterValidationException(source + ": lora_bias is not supported");
        }
        if (c.bool("use_qalora", false)) {
            throw new AdapterValidationException(source + ": QA-LoRA (use_qalora) is not supported");
        }
        c.rejectNonEmpty("modules_to_save",
                "modules_to_save is not supported: the adapter replaces whole modules (embeddings or classifier)");
        c.rejectNonEmpty("trainable_token_indices",
                "trainable_token_indices is not supported: the adapter changes embeddings");
        c.rejectNonEmpty("layer_replication", "layer_replication is not supported");
        c.rejectNonEmpty("target_parameters", "target_parameters (LoRA on raw parameters) is not supported");
        c.rejectNonEmpty("alora_invocation_tokens", "activated LoRA (alora_invocation_tokens) is not supported");
        c.rejectNonEmpty("megatron_config", "megatron_config is not supported");

        int r = c.positiveInt("r", 8);
        double alpha = c.number("lora_alpha", 8.0);
        boolean rslora = c.bool("use_rslora", false);
        Map<String, Integer> rankPattern = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : c.object("rank_pattern").properties()) {
            rankPattern.put(e.getKey(), Reader.asPositiveInt(e.getValue(), source + ": rank_pattern[" + e.getKey() + "]"));
        }
        Map<String, Double> alphaPattern = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : c.object("alpha_pattern").properties()) {
            alphaPattern.put(e.getKey(), Reader.asNumber(e.getValue(), source + ": alpha_pattern[" + e.getKey() + "]"));
        }
        JsonNode targets = c.get("target_modules");
        List<String> names = null;
        String regex = null;
        if (targets != null && targets.isString()) {
            regex = targets.stringValue();
        } else if (targets != null && targets.isArray() && !targets.isEmpty()) {
            names = new ArrayList<>();
            for (JsonNode o : targets) {
                if (!o.isString()) {
                    throw new AdapterValidationException(source + ": target_modules entries must be strings, got " + o);
                }
                String s = o.stringValue();
                if (EMBEDDING_MODULES.contains(s)) {
                    throw new AdapterValidationException(source + ": target_modules contains " + s
                            + ": LoRA on embeddings or the classifier is not supported");
                }
                names.add(s);
            }
        } else {
            throw new AdapterValidationException(source + ": target_modules must be a non-empty list or a regex string,"
                    + " got " + targets);
        }
        List<Integer> layers = null;
        JsonNode ltt = c.get("layers_to_transform");
        if (ltt != null && ltt.isArray()) {
            layers = new ArrayList<>();
            for (JsonNode o : ltt) {
                layers.add(Reader.asNonNegativeInt(o, source + ": layers_to_transform entry"));
            }
        } else if (ltt != null) {
            layers = List.of(Reader.asNonNegativeInt(ltt, source + ": layers_to_transform"));
        }
        boolean fanInFanOut = c.bool("fan_in_fan_out", false);
        String base = c.string("base_model_name_or_path", null);
        String task = c.string("task_type", null);
        try {
            return new PeftConfig(peftType, r, alpha, rslora, rankPattern, alphaPattern, names, regex, layers,
                    fanInFanOut, base, task);
        } catch (AdapterValidationException e) {
            throw new AdapterValidationException(source + ": " + e.getMessage());
        }
    }

    /** True when PEFT would put LoRA on {@code module} (a module path without the {@code base_model.model.} prefix). */
    public boolean targets(String module) {
        boolean named;
        if (targetModuleNames != null) {
            named = false;
            for (String t : targetModuleNames) {
                if (module.equals(t) || module.endsWith("." + t)) {
                    named = true;
                    break;
                }
            }
        } else if (targetModuleRegex.equals(ALL_LINEAR)) {
            named = true; // PEFT's shorthand for every linear layer but the output head
        } else {
            named = Pattern.compile(targetModuleRegex).matcher(module).matches();
        }
        if (!named || layersToTransform == null) {
            return named;
        }
        int layer = layerIndex(module);
        return layer >= 0 && layersToTransform.contains(layer);
    }

    /** The layer index PEFT reads from a module path ({@code model.layers.3.self_attn.q_proj} -> 3), or -1. */
    public static int layerIndex(String module) {
        Matcher m = LAYER_INDEX.matcher(module + ".");
        if (!m.lookingAt()) {
            return -1;
        }
        try {
            return Integer.parseInt(m.group(1));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** Rank of {@code module}: the first matching rank_pattern key, else r. */
    public int rankFor(String module) {
        for (Map.Entry<String, Integer> e : rankPattern.entrySet()) {
            if (patternMatches(e.getKey(), module)) {
                return e.getValue();
            }
        }
        return r;
    }

    /** Alpha of {@code module}: the first matching alpha_pattern key, else lora_alpha. */
    public double alphaFor(String module) {
        for (Map.Entry<String, Double> e : alphaPattern.entrySet()) {
            if (patternMatches(e.getKey(), module)) {
                return e.getValue();
            }
        }
        return loraAlpha;
    }

    /** s = alpha / r, or alpha / sqrt(r) with rsLoRA, for {@code module}. */
    public float scaleFor(String module) {
        int rank = rankFor(module);
        double alpha = alphaFor(module);
        return (float) (useRslora ? alpha / Math.sqrt(rank) : alpha / rank);
    }

    /** As PEFT's get_pattern_key: {@code re.match(rf"(.*\.)?({key})$", module)}. */
    private static boolean patternMatches(String key, String module) {
        return Pattern.compile("(.*\\.)?(" + key + ")$").matcher(module).matches();
    }

    private static void compile(String regex, String what) {
        try {
            Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            throw new AdapterValidationException("adapter_config.json: " + what + " is not a valid regex: "
                    + e.getDescription());
        }
    }

    /** The config as PEFT writes it (the fields we know; the rest at PEFT's defaults). */
    public byte[] toJson() {
        Map<String, Object> m = new LinkedHashMap<>(); // LinkedHashMap: PEFT's (alphabetical) key order
        m.put("alpha_pattern", alphaPattern);
        m.put("base_model_name_or_path", baseModelNameOrPath);
        m.put("bias", "none");
        m.put("fan_in_fan_out", fanInFanOut);
        m.put("inference_mode", true);
        m.put("layers_to_transform", layersToTransform);
        m.put("lora_alpha", loraAlpha == Math.rint(loraAlpha) ? (Object) (long) loraAlpha : (Object) loraAlpha);
        m.put("lora_bias", false);
        m.put("lora_dropout", 0.0);
        m.put("modules_to_save", null);
        m.put("peft_type", peftType);
        m.put("r", r);
        m.put("rank_pattern", rankPattern);
        m.put("target_modules", targetModuleNames != null ? targetModuleNames : targetModuleRegex);
        m.put("task_type", taskType);
        m.put("use_dora", false);
        m.put("use_rslora", useRslora);
        return JsonMapper.shared().writeValueAsBytes(m);
    }

    /** Typed access to config fields with errors that name the file and field; JSON null counts as absent. */
    private record Reader(JsonNode m, String source) {
        JsonNode get(String key) {
            JsonNode v = m.get(key);
            return v == null || v.isNull() ? null : v;
        }

        String string(String key, String dflt) {
            JsonNode v = get(key);
            if (v == null) {
                return dflt;
            }
            if (!v.isString()) {
                throw new AdapterValidationException(source + ": " + key + " must be a string, got " + v);
            }
            return v.stringValue();
        }

        boolean bool(String key, boolean dflt) {
            JsonNode v = get(key);
            if (v == null) {
                return dflt;
            }
            if (!v.isBoolean()) {
                throw new AdapterValidationException(source + ": " + key + " must be true or false, got " + v);
            }
            return v.booleanValue();
        }

        int positiveInt(String key, int dflt) {
            JsonNode v = get(key);
            return v == null ? dflt : asPositiveInt(v, source + ": " + key);
        }

        double number(String key, double dflt) {
            JsonNode v = get(key);
            return v == null ? dflt : asNumber(v, source + ": " + key);
        }

        JsonNode object(String key) {
            JsonNode v = get(key);
            if (v == null) {
                return JsonNodeFactory.instance.objectNode();
            }
            if (!v.isObject()) {
                throw new AdapterValidationException(source + ": " + key + " must be an object, got " + v);
            }
            return v;
        }

        void rejectNonEmpty(String key, String message) {
            JsonNode v = get(key);
            boolean empty = v == null || (v.isBoolean() && !v.booleanValue()) || (v.isContainer() && v.isEmpty())
                    || (v.isString() && v.stringValue().isEmpty());
            if (!empty) {
                throw new AdapterValidationException(source + ": " + message + " (" + key + " = " + v + ")");
            }
        }

        static int asPositiveInt(JsonNode v, String what) {
            int i = asNonNegativeInt(v, what);
            if (i == 0) {
                throw new AdapterValidationException(what + " must be positive, got 0");
            }
            return i;
        }

        static int asNonNegativeInt(JsonNode v, String what) {
            if (!v.isIntegralNumber()) {
                throw new AdapterValidationException(what + " must be an integer, got " + v);
            }
            if (!v.canConvertToInt() || v.intValue() < 0) {
                throw new AdapterValidationException(what + " is out of range: " + v);
            }
            return v.intValue();
        }

        /** An integer that fits a long, or a finite floating-point number. */
        static double asNumber(JsonNode v, String what) {
            if (v.isIntegralNumber() && v.canConvertToLong()) {
                return v.longValue();
            }
            if (v.isFloatingPointNumber() && Double.isFinite(v.doubleValue())) {
                return v.doubleValue();
            }
            throw new AdapterValidationException(what + " must be a finite number, got " + v);
        }
    }
}
