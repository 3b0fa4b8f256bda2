package dev.loracle.runtime.cuda;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * CI's guard for builds without nvcc: the PTX checked into src/main/resources must have been built from the current
 * .cu sources (digest stamped by bin/build-ptx) with the expected flags. Fix a failure with gpu-runtime/bin/build-ptx.
 */
class PtxStalenessTest {
    static final Path CUDA_SRC = Path.of("src/main/cuda");
    static final Path CHECKED_IN = Path.of("src/main/resources/dev/loracle/runtime/cuda");
    static final String FLAGS = "-ptx -arch=compute_80 -O3";

    @Test
    void everyCheckedInPtxMatchesItsSources() throws IOException {
        List<String> stale = new ArrayList<>();
        for (Path cu : sources()) {
            String name = cu.getFileName().toString().replace(".cu", "");
            Path ptx = CHECKED_IN.resolve(name + ".ptx");
            if (!Files.exists(ptx)) {
                stale.add(name + ".ptx is missing");
                continue;
            }
            PtxModule m = PtxModule.parse(name, Files.readString(ptx, StandardCharsets.US_ASCII));
            String want = PtxSourceDigest.of(cu);
            if (!want.equals(m.sourceSha256())) stale.add(name + ".ptx was built from other sources (stamped "
                    + m.sourceSha256() + ", sources now " + want + ")");
            if (!FLAGS.equals(m.nvccFlags())) stale.add(name + ".ptx was built with flags '" + m.nvccFlags() + "'");
        }
        assertTrue(stale.isEmpty(), "stale PTX, run gpu-runtime/bin/build-ptx and commit the result: " + stale);
    }

    @Test
    void sourcesAndPackagedModulesAreTheSameSet() throws IOException {
        Set<String> fromSources = new TreeSet<>();
        for (Path cu : sources()) fromSources.add(cu.getFileName().toString().replace(".cu", ""));
        Set<String> checkedIn = new TreeSet<>();
        try (Stream<Path> s = Files.list(CHECKED_IN)) {
            s.filter(p -> p.toString().endsWith(".ptx")).forEach(p -> checkedIn.add(p.getFileName().toString().replace(".ptx", "")));
        }
        assertEquals(fromSources, checkedIn, "every .cu has exactly one checked-in .ptx");
        assertEquals(fromSources, new TreeSet<>(PtxModule.MODULE_NAMES), "PtxModule.MODULE_NAMES lists every kernel file");
    }

    /** The check can fail: one changed byte in a source (or a header) changes the digest. */
    @Test
    void digestChangesWhenASourceOrHeaderChanges(@org.junit.jupiter.api.io.TempDir Path tmp) throws IOException {
        Files.writeString(tmp.resolve("k.cu"), "extern \"C\" __global__ void k() {}\n");
        Files.writeString(tmp.resolve("common.cuh"), "#pragma once\n");
        String before = PtxSourceDigest.of(tmp.resolve("k.cu"));
        Files.writeString(tmp.resolve("k.cu"), "extern \"C\" __global__ void k() { }\n");
        String afterSource = PtxSourceDigest.of(tmp.resolve("k.cu"));
        Files.writeString(tmp.resolve("common.cuh"), "#pragma once\n#define X 1\n");
        String afterHeader = PtxSourceDigest.of(tmp.resolve("k.cu"));
        assertNotEquals(before, afterSource);
        assertNotEquals(afterSource, afterHeader);
    }

    /** The bash script and this test implement the same rule: when bash and sha256sum exist, both must agree. */
    @Test
    void scriptCheckAgreesWithJavaRule() throws Exception {
        Path script = Path.of("bin/build-ptx");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(Path.of("/bin/bash")) && Files.exists(script),
                "bash not available: the script half of the staleness check is skipped");
        Process p = new ProcessBuilder("bash", script.toString(), "--check").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), "bin/build-ptx --check failed:\n" + out);
        assertTrue(out.contains("ok: packed.ptx"), out);
    }

    private static List<Path> sources() throws IOException {
        try (Stream<Path> s = Files.list(CUDA_SRC)) {
            return s.filter(p -> p.toString().endsWith(".cu")).sorted().toList();
        }
    }
}
