package dev.loracle.oracle.devstack;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * An oracle node in its own JVM ({@code java -cp <class path> dev.loracle.oracle.OracleApplication --key=value ...}),
 * so a test can kill it with SIGKILL as a crash would and start it again on the same journal. Output goes to a log
 * file that {@link #logTail()} quotes in failures. The oracle key travels in the environment, not on the command
 * line, so it does not show in process listings.
 */
public final class OracleProcess implements AutoCloseable {
    public static final String MAIN_CLASS = "dev.loracle.oracle.OracleApplication";
    private static final List<String> JVM_FLAGS = List.of("--enable-native-access=ALL-UNNAMED",
            "--add-modules", "jdk.incubator.vector", "--sun-misc-unsafe-memory-access=allow", "-Xmx512m",
            "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");

    private final OracleSettings settings;
    private final String classPath;
    private final Path logFile;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private Process process;
    private int starts;

    private OracleProcess(OracleSettings settings, String classPath, Path logFile) {
        this.settings = settings;
        this.classPath = classPath;
        this.logFile = logFile;
    }

    /** Starts a node with this JVM's class path and waits until its health endpoint answers. */
    public static OracleProcess start(OracleSettings settings, Duration readyTimeout) {
        return start(settings, System.getProperty("java.class.path"), readyTimeout);
    }

    public static OracleProcess start(OracleSettings settings, String classPath, Duration readyTimeout) {
        Path log = settings.dataDir().resolve("oracle.log");
        OracleProcess node = new OracleProcess(settings, classPath, log);
        node.launch(readyTimeout);
        return node;
    }

    public OracleSettings settings() {
        return settings;
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process != null && process.isAlive();
    }

    /** How many times this node was launched (1 + restarts). */
    public int starts() {
        return starts;
    }

    /** Launches the JVM again with the same settings (same journal, same port) and waits for readiness. */
    public void restart(Duration readyTimeout) {
        if (isAlive()) {
            throw new IllegalStateException("oracle pid " + pid() + " is still running; kill() or stop() it first");
        }
        launch(readyTimeout);
    }

    /** SIGKILL: no shutdown hooks, no flush; what a power cut or OOM killer does. */
    public void kill() {
        if (process == null) {
            return;
        }
        process.destroyForcibly();
        awaitExit(10);
    }

    /** SIGTERM (graceful shutdown), SIGKILL after 30 s. */
    public void stop() {
        if (process == null || !process.isAlive()) {
            return;
        }
        process.destroy();
        if (!awaitExit(30)) {
            kill();
        }
    }

    @Override
    public void close() {
        stop();
    }

    /** The last {@code maxLines} lines of the node's output (all launches). */
    public String logTail(int maxLines) {
        try {
            List<String> lines = Files.readAllLines(logFile, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - maxLines), lines.size()));
        } catch (IOException | UncheckedIOException e) {
            return "(no oracle log: " + e.getMessage() + ")";
        }
    }

    public String logTail() {
        return logTail(60);
    }

    public Path logFile() {
        return logFile;
    }

    private void launch(Duration readyTimeout) {
        Path javaBin = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> command = new ArrayList<>();
        command.add(javaBin.toString());
        command.addAll(JVM_FLAGS);
        // Class-data sharing: the first launch writes an archive for this class path, later launches (restarts, the
        // next test) start several seconds faster. The JVM ignores an archive that does not match.
        command.add("-XX:+AutoCreateSharedArchive");
        command.add("-XX:SharedArchiveFile=" + Path.of(System.getProperty("java.io.tmpdir"),
                "loracle-oracle-" + Integer.toHexString(classPath.hashCode()) + ".jsa"));
        if (isBootJar(classPath)) {
            command.add("-jar"); // running from the runnable jar (scripts/demo): its launcher starts the node
            command.add(classPath);
        } else {
            command.add("-cp");
            command.add(classPath);
            command.add(MAIN_CLASS);
        }
        Map<String, String> properties = settings.toProperties();
        properties.forEach((k, v) -> {
            if (!k.equals("loracle.key.private-key")) {
                command.add("--" + k + "=" + v);
            }
        });
        try {
            Files.createDirectories(settings.dataDir());
            Files.writeString(logFile, "=== launch " + (starts + 1) + " ===\n", StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            ProcessBuilder builder = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
            // application.yml reads loracle.key.private-key from ORACLE_PRIVATE_KEY.
            builder.environment().put("ORACLE_PRIVATE_KEY", settings.oraclePrivateKey());
            process = builder.start();
            starts++;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the oracle JVM " + javaBin, e);
        }
        awaitReady(readyTimeout);
    }

    /** A single Spring Boot runnable jar (classes under BOOT-INF/) cannot be used with -cp MAIN_CLASS. */
    static boolean isBootJar(String classPath) {
        if (classPath.contains(java.io.File.pathSeparator) || !classPath.endsWith(".jar")) {
            return false;
        }
        try (java.util.zip.ZipFile zip = new java.util.zip.ZipFile(classPath)) {
            return zip.getEntry("BOOT-INF/") != null || zip.getEntry("BOOT-INF/classes/") != null;
        } catch (IOException e) {
            return false;
        }
    }

    private void awaitReady(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        URI health = URI.create(settings.restUrl() + "/actuator/health");
        String last = "no answer";
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("oracle exited with code " + process.exitValue()
                        + " during start-up; log:\n" + logTail());
            }
            try {
                HttpResponse<String> response = http.send(HttpRequest.newBuilder(health)
                        .timeout(Duration.ofSeconds(2)).GET().build(), HttpResponse.BodyHandlers.ofString());
                // 503 (DOWN) still means the web server is up; a component (e.g. the chain) may be waiting.
                if (response.statusCode() == 200 || response.statusCode() == 503) {
                    return;
                }
                last = "HTTP " + response.statusCode();
            } catch (IOException e) {
                last = e.toString();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the oracle", e);
            }
            sleep(200);
        }
        kill();
        throw new IllegalStateException("oracle did not answer on " + health + " within " + timeout.toSeconds()
                + " s (last: " + last + "); log:\n" + logTail());
    }

    private boolean awaitExit(int seconds) {
        try {
            return process.waitFor(seconds, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
