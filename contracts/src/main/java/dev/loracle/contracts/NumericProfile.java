package dev.loracle.contracts;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * What besides the weights decides a model's output bits, as registered on-chain in {@code Model.profile} and bound
 * by the result commitment: the base matrices' number format, how adapters are applied, and the KV cache's type.
 * Written as {@code quant=Q8_0;attach=MERGED;kv=F32}. An oracle refuses to serve a model whose registered profile
 * it does not run; {@code loracle verify} re-executes with exactly this profile.
 *
 * @param quant base weight format (F32, Q8_0, Q4_0, ...)
 * @param attach adapter attach mode (MERGED or UNMERGED)
 * @param kv KV cache element type (F32 or INT8)
 */
public record NumericProfile(String quant, String attach, String kv) {
    /** The demo model (stories260K, stored F32) as the node runs it by default (UNMERGED: the continuous batch serves
     *  any mix of adapter sets without a merged copy per set). */
    public static final NumericProfile DEV_DEFAULT = new NumericProfile("F32", "UNMERGED", "F32");

    public NumericProfile {
        quant = part("quant", quant);
        attach = part("attach", attach);
        kv = part("kv", kv);
    }

    /** Parses {@code quant=..;attach=..;kv=..} (any order, all three keys, nothing else). */
    public static NumericProfile parse(String text) {
        Objects.requireNonNull(text, "profile");
        Map<String, String> parts = new LinkedHashMap<>();
        for (String item : text.split(";", -1)) {
            int eq = item.indexOf('=');
            if (eq <= 0 || parts.put(item.substring(0, eq).trim(), item.substring(eq + 1).trim()) != null) {
                throw new IllegalArgumentException("profile '" + text + "' is not quant=..;attach=..;kv=..");
            }
        }
        if (!parts.keySet().equals(java.util.Set.of("quant", "attach", "kv"))) {
            throw new IllegalArgumentException("profile '" + text + "' must name exactly quant, attach and kv");
        }
        return new NumericProfile(parts.get("quant"), parts.get("attach"), parts.get("kv"));
    }

    private static String part(String name, String value) {
        if (value == null || value.isBlank() || value.contains(";") || value.contains("=")) {
            throw new IllegalArgumentException("profile " + name + " must be a plain non-empty word, got '" + value + "'");
        }
        return value.trim().toUpperCase(Locale.ROOT);
    }

    @Override
    public String toString() {
        return "quant=" + quant + ";attach=" + attach + ";kv=" + kv;
    }
}
