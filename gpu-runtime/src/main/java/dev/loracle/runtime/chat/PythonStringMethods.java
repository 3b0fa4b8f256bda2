package dev.loracle.runtime.chat;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * Python's {@code str} methods that chat templates call ({@code strip}, {@code lstrip}, {@code rstrip} with optional
 * characters, {@code startswith}, {@code endswith}, {@code split}, {@code upper}, {@code lower}, {@code replace},
 * {@code title}), resolved on Java strings before Jinjava's bean resolver, which only knows Java's method names.
 */
final class PythonStringMethods extends ELResolver {

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(base instanceof String s) || method == null) return null;
        Object[] p = params == null ? new Object[0] : params;
        Object r = call(s, method.toString(), p);
        if (r != NOT_HANDLED) context.setPropertyResolved(true);
        return r == NOT_HANDLED ? null : r;
    }

    private static final Object NOT_HANDLED = new Object();

    private static Object call(String s, String name, Object[] p) {
        return switch (name) {
            case "strip" -> p.length == 0 || p[0] == null ? s.strip() : rstrip(lstrip(s, p[0].toString()), p[0].toString());
            case "lstrip" -> p.length == 0 || p[0] == null ? s.stripLeading() : lstrip(s, p[0].toString());
            case "rstrip" -> p.length == 0 || p[0] == null ? s.stripTrailing() : rstrip(s, p[0].toString());
            case "startswith" -> p.length == 1 ? s.startsWith(String.valueOf(p[0])) : NOT_HANDLED;
            case "endswith" -> p.length == 1 ? s.endsWith(String.valueOf(p[0])) : NOT_HANDLED;
            case "split" -> p.length > 2 ? NOT_HANDLED : p.length == 0 || p[0] == null ? whitespaceSplit(s)
                    : split(s, p[0].toString(), p.length == 2 && p[1] instanceof Number n ? n.intValue() : -1);
            case "upper" -> s.toUpperCase(java.util.Locale.ROOT);
            case "lower" -> s.toLowerCase(java.util.Locale.ROOT);
            case "title" -> title(s);
            case "replace" -> p.length == 2 ? s.replace(String.valueOf(p[0]), String.valueOf(p[1])) : NOT_HANDLED;
            default -> NOT_HANDLED;
        };
    }

    private static String lstrip(String s, String chars) {
        int i = 0;
        while (i < s.length() && chars.indexOf(s.charAt(i)) >= 0) i++;
        return s.substring(i);
    }

    private static String rstrip(String s, String chars) {
        int j = s.length();
        while (j > 0 && chars.indexOf(s.charAt(j - 1)) >= 0) j--;
        return s.substring(0, j);
    }

    /** str.split(sep, maxsplit): empty pieces kept, as Python does; maxsplit &lt; 0 = no limit. */
    private static List<String> split(String s, String sep, int maxSplit) {
        if (sep.isEmpty()) throw new IllegalArgumentException("empty separator");
        List<String> out = new ArrayList<>();
        int from = 0;
        for (int at = s.indexOf(sep); at >= 0 && (maxSplit < 0 || out.size() < maxSplit); at = s.indexOf(sep, from)) {
            out.add(s.substring(from, at));
            from = at + sep.length();
        }
        out.add(s.substring(from));
        return out;
    }

    private static List<String> whitespaceSplit(String s) {
        String t = s.strip();
        return t.isEmpty() ? new ArrayList<>() : new ArrayList<>(List.of(t.split("\\s+")));
    }

    private static String title(String s) {
        StringBuilder b = new StringBuilder(s.length());
        boolean start = true;
        for (char c : s.toCharArray()) {
            b.append(start ? Character.toUpperCase(c) : Character.toLowerCase(c));
            start = !Character.isLetter(c);
        }
        return b.toString();
    }

    @Override public Object getValue(ELContext context, Object base, Object property) { return null; }
    @Override public Class<?> getType(ELContext context, Object base, Object property) { return null; }
    @Override public void setValue(ELContext context, Object base, Object property, Object value) {}
    @Override public boolean isReadOnly(ELContext context, Object base, Object property) { return true; }
    @Override public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) { return Collections.emptyIterator(); }
    @Override public Class<?> getCommonPropertyType(ELContext context, Object base) { return null; }
}
