package dev.loracle.oracle.it;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where the CPU went during a bench phase: the engine's threads (scheduler and matmul workers), the rest of this JVM
 * (node and bench client), the child processes (Anvil, the IPFS node) and the whole machine (other users included),
 * from the kernel's and the JVM's own counters. Says how much of the machine a phase could have used at most.
 */
final class CpuShares {
    private final long gcMillis, jitMillis;
    private final long engineNanos, jvmNanos, childNanos, machineBusyJiffies, machineTotalJiffies, wallNanos;
    private final Map<String, Long> children, threadGroups;

    private CpuShares(long engineNanos, long jvmNanos, Map<String, Long> threadGroups, Map<String, Long> children, long[] machine,
                      long wallNanos) {
        this.engineNanos = engineNanos;
        this.gcMillis = ManagementFactory.getGarbageCollectorMXBeans().stream().mapToLong(b -> Math.max(0, b.getCollectionTime())).sum();
        this.jitMillis = ManagementFactory.getCompilationMXBean().getTotalCompilationTime();
        this.threadGroups = threadGroups;
        this.jvmNanos = jvmNanos;
        this.children = children;
        this.childNanos = children.values().stream().mapToLong(Long::longValue).sum();
        this.machineBusyJiffies = machine[0];
        this.machineTotalJiffies = machine[1];
        this.wallNanos = wallNanos;
    }

    static CpuShares now() {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long engine = 0;
        Map<String, Long> groups = new java.util.TreeMap<>();
        for (ThreadInfo t : threads.getThreadInfo(threads.getAllThreadIds())) {
            if (t == null) continue;
            String name = t.getThreadName();
            long cpu = Math.max(0, threads.getThreadCpuTime(t.getThreadId()));
            if (name.equals("loracle-scheduler") || name.startsWith("loracle-matmul-")) engine += cpu;
            groups.merge(name.replaceAll("\\d+", "N"), cpu, Long::sum);
        }
        long jvm = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
        Map<String, Long> children = new LinkedHashMap<>();
        ProcessHandle.current().descendants().forEach(p -> {
            String cmd = p.info().command().map(c -> Path.of(c).getFileName().toString()).orElse("?");
            long cpu = p.info().totalCpuDuration().map(Duration::toNanos).orElse(0L);
            children.merge(cmd, cpu, Long::sum);
        });
        return new CpuShares(engine, jvm, groups, children, machineJiffies(), System.nanoTime());
    }

    /** {busy, total} jiffies of all CPUs since boot (/proc/stat), or zeros where there is none. */
    private static long[] machineJiffies() {
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).getFirst().trim().split("\\s+");
            long total = 0;
            for (int i = 1; i < f.length; i++) total += Long.parseLong(f[i]);
            long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
            return new long[] {total - idle, total};
        } catch (IOException | RuntimeException e) {
            return new long[] {0, 0};
        }
    }

    /** CPU-ms per request of this process and its children between {@code start} and this snapshot. */
    double ourCpuMsPerRequest(CpuShares start, int requests) {
        long kids = 0;
        for (Map.Entry<String, Long> e : children.entrySet()) kids += e.getValue() - start.children.getOrDefault(e.getKey(), 0L);
        return (jvmNanos - start.jvmNanos + kids) / 1e6 / requests;
    }

    /** One line per share, in CPU-ms per request, between {@code start} and this snapshot. */
    String since(CpuShares start, int requests) {
        double wallS = (wallNanos - start.wallNanos) / 1e9;
        double engine = (engineNanos - start.engineNanos) / 1e6, jvm = (jvmNanos - start.jvmNanos) / 1e6;
        StringBuilder kids = new StringBuilder();
        double kidsMs = 0;
        for (Map.Entry<String, Long> e : children.entrySet()) {
            double ms = (e.getValue() - start.children.getOrDefault(e.getKey(), 0L)) / 1e6;
            kidsMs += ms;
            kids.append(String.format(" %s %.1f", e.getKey(), ms / requests));
        }
        // the JVM's Java threads by name (digits folded), largest first; what no Java thread accounts for is GC, JIT and VM
        Map<String, Double> byGroup = new java.util.HashMap<>();
        double javaThreads = 0;
        for (Map.Entry<String, Long> e : threadGroups.entrySet()) {
            double ms = Math.max(0, e.getValue() - start.threadGroups.getOrDefault(e.getKey(), 0L)) / 1e6;
            javaThreads += ms;
            byGroup.put(e.getKey(), ms);
        }
        StringBuilder top = new StringBuilder();
        byGroup.entrySet().stream().sorted(Map.Entry.<String, Double>comparingByValue().reversed()).limit(10)
                .forEach(e -> top.append(String.format(" %s %.1f,", e.getKey(), e.getValue() / requests)));
        top.append(String.format(" GC/JIT/VM and ended threads %.1f (GC pauses %.1f ms, JIT compiling %.1f ms per request)",
                Math.max(0, jvm - javaThreads) / requests, (double) (gcMillis - start.gcMillis) / requests,
                (double) (jitMillis - start.jitMillis) / requests));
        int cores = Runtime.getRuntime().availableProcessors();
        double busy = machineTotalJiffies == start.machineTotalJiffies ? 0
                : (double) (machineBusyJiffies - start.machineBusyJiffies) / (machineTotalJiffies - start.machineTotalJiffies) * cores;
        double ours = (jvm + kidsMs) / 1e3 / wallS;
        return String.format("  CPU-ms per request: engine %.1f, rest of the JVM (node + bench client) %.1f, child processes%s"
                        + " (sum %.1f) = %.1f; over %.1f s the machine was busy %.2f of %d cores, %.2f of them ours%n"
                + "  JVM threads, CPU-ms per request:%s%n",
                engine / requests, (jvm - engine) / requests, kids, kidsMs / requests, (jvm + kidsMs) / requests, wallS, busy, cores, ours, top);
    }
}
