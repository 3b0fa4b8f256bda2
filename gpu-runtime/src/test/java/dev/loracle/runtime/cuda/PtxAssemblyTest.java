package dev.loracle.runtime.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Assembles the packaged PTX with the toolkit's ptxas for Ampere (sm_80) and Hopper (sm_90), as the driver's JIT will
 * at cuModuleLoadData: catches PTX the JIT would reject, without a GPU. Skipped, saying so, where ptxas is absent.
 */
class PtxAssemblyTest {
    @Test
    void packagedPtxAssemblesForAmpereAndHopper(@TempDir Path tmp) throws Exception {
        String ptxas = findOnPath("ptxas");
        assumeTrue(ptxas != null, "ptxas (CUDA toolkit) not on PATH: the PTX assembly check is skipped on this machine");
        for (PtxModule m : PtxModule.loadAll()) {
            Path file = tmp.resolve(m.name() + ".ptx");
            Files.writeString(file, m.text(), StandardCharsets.US_ASCII);
            for (String arch : new String[] {"sm_80", "sm_90"}) {
                Process p = new ProcessBuilder(ptxas, "-arch=" + arch, file.toString(), "-o", tmp.resolve(m.name() + ".cubin").toString())
                        .redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                p.waitFor(2, TimeUnit.MINUTES);
                assertEquals(0, p.exitValue(), "ptxas -arch=" + arch + " rejected " + m.name() + ".ptx:\n" + out);
            }
        }
    }

    static String findOnPath(String tool) {
        String path = System.getenv("PATH");
        if (path == null) return null;
        return Arrays.stream(path.split(File.pathSeparator)).map(d -> Path.of(d, tool))
                .filter(Files::isExecutable).map(Path::toString).findFirst().orElse(null);
    }
}
