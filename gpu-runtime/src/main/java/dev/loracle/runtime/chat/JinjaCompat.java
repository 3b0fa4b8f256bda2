package dev.loracle.runtime.chat;

/**
 * Source rewrites for the places where Jinjava's expression grammar differs from Jinja2 in ways Hugging Face chat
 * templates hit. Jinjava binds {@code name=value} keyword arguments tighter than arithmetic, so
 * {@code namespace(i=messages|length - 1)} would subtract from the argument object: keyword values of
 * {@code namespace(...)} are wrapped in parentheses. Jinjava has no slice step: {@code [::-1]} becomes {@code |reverse}.
 */
final class JinjaCompat {
    private JinjaCompat() {}

    static String adapt(String template) {
        return parenthesizeNamespaceArguments(template.replace("[::-1]", "|reverse"));
    }

    private static String parenthesizeNamespaceArguments(String template) {
        StringBuilder out = new StringBuilder(template.length() + 16);
        int i = 0;
        while (true) {
            int at = template.indexOf("namespace(", i);
            if (at < 0) break;
            int open = at + "namespace(".length();
            int close = matchingParen(template, open);
            if (close < 0) break;
            out.append(template, i, open).append(parenthesizeKeywordValues(template.substring(open, close))).append(')');
            i = close + 1;
        }
        return out.append(template, i, template.length()).toString();
    }

    /** Index of the ')' closing the '(' just before {@code from}, skipping nested brackets and strings; -1 if none. */
    private static int matchingParen(String s, int from) {
        int depth = 0;
        char quote = 0;
        for (int i = from; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quote != 0) {
                if (c == '\\') i++;
                else if (c == quote) quote = 0;
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                if (depth == 0) return c == ')' ? i : -1;
                depth--;
            }
        }
        return -1;
    }

    private static String parenthesizeKeywordValues(String args) {
        StringBuilder out = new StringBuilder();
        int depth = 0, start = 0;
        char quote = 0;
        for (int i = 0; i <= args.length(); i++) {
            char c = i < args.length() ? args.charAt(i) : ',';
            if (quote != 0) {
                if (c == '\\') i++;
                else if (c == quote) quote = 0;
                continue;
            }
            if (c == '\'' || c == '"') quote = c;
            else if (c == '(' || c == '[' || c == '{') depth++;
            else if (c == ')' || c == ']' || c == '}') depth--;
            else if (c == ',' && depth == 0) {
                String arg = args.substring(start, i);
                int eq = keywordEquals(arg);
                out.append(eq < 0 ? arg : arg.substring(0, eq + 1) + "(" + arg.substring(eq + 1).strip() + ")");
                if (i < args.length()) out.append(',');
                start = i + 1;
            }
        }
        return out.toString();
    }

    /** Position of the '=' of {@code name=value}, or -1 when the argument is positional. */
    private static int keywordEquals(String arg) {
        int eq = arg.indexOf('=');
        if (eq <= 0 || (eq + 1 < arg.length() && arg.charAt(eq + 1) == '=')) return -1;
        return arg.substring(0, eq).strip().matches("[A-Za-z_][A-Za-z0-9_]*") ? eq : -1;
    }
}
