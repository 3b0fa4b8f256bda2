import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * helm lint --strict and helm template for deploy/lint, through the Helm library itself (helm-java).
 * Usage: java -cp 'lib/*' HelmCheck.java CHART GOOD_VALUES_DIR BAD_VALUES_DIR OUT_DIR
 * - lint (strict) must pass;
 * - the chart must render with its defaults and with every GOOD_VALUES_DIR/*.yaml; output: OUT_DIR/<case>.yaml;
 * - every BAD_VALUES_DIR/*.yaml must be refused, with the message named by its "# expect: ..." line.
 * Exit 1 on any failure.
 */
public class HelmCheck {
    private static final Pattern EXPECT = Pattern.compile("^#\\s*expect:\\s*(.+)$", Pattern.MULTILINE);

    public static void main(String[] args) throws IOException {
        if (args.length != 4) {
            System.err.println("usage: HelmCheck CHART GOOD_VALUES_DIR BAD_VALUES_DIR OUT_DIR");
            System.exit(2);
        }
        Path chart = Path.of(args[0]);
        Path good = Path.of(args[1]);
        Path bad = Path.of(args[2]);
        Path out = Path.of(args[3]);
        Files.createDirectories(out);
        List<String> failures = new ArrayList<>();

        LintResult lint = new Helm(chart).lint().strict().call();
        lint.getMessages().forEach(m -> System.out.println("  helm lint: " + m));
        if (lint.isFailed()) failures.add("helm lint --strict failed");
        else System.out.println("ok   helm lint --strict " + chart + " (Helm " + Helm.version().call() + ")");

        render(chart, null, out.resolve("defaults.yaml"), failures);
        for (Path values : yamlFiles(good)) {
            render(chart, values, out.resolve(values.getFileName().toString()), failures);
        }
        for (Path values : yamlFiles(bad)) {
            Matcher m = EXPECT.matcher(Files.readString(values));
            if (!m.find()) {
                failures.add(values + ": no '# expect: <message>' line");
                continue;
            }
            String expected = m.group(1).trim();
            try {
                template(chart, values);
                failures.add(values + ": rendered, but should have been refused with: " + expected);
            } catch (RuntimeException e) {
                if (String.valueOf(e.getMessage()).contains(expected)) {
                    System.out.println("ok   refused " + values.getFileName() + ": " + expected);
                } else {
                    failures.add(values + ": refused with the wrong message: " + e.getMessage());
                }
            }
        }
        if (!failures.isEmpty()) {
            failures.forEach(f -> System.err.println("FAIL " + f));
            System.exit(1);
        }
    }

    private static void render(Path chart, Path values, Path target, List<String> failures) throws IOException {
        String name = values == null ? "defaults" : values.getFileName().toString();
        try {
            Files.writeString(target, template(chart, values));
            System.out.println("ok   helm template (" + name + ") -> " + target);
        } catch (RuntimeException e) {
            failures.add("helm template (" + name + "): " + e.getMessage());
        }
    }

    private static String template(Path chart, Path values) {
        var command = new Helm(chart).template().withName("oracle-a").withNamespace("loracle").withKubeVersion("1.33.0");
        if (values != null) command = command.withValuesFile(values);
        return command.call();
    }

    private static List<Path> yamlFiles(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
    }
}
