package dev.loracle.runtime.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The native int8 kernels against the Java ones, bit for bit (they run wherever the build had gcc). */
class NativeKernelsTest {

    static boolean buildHadGcc() {
        String path = System.getenv().getOrDefault("PATH", "");
        for (String d : path.split(java.io.File.pathSeparator)) {
            if (Files.isExecutable(Path.of(d, "gcc"))) return true;
        }
        return false;
    }

    @Test
    void nativeKernelsAreLoadedWhereTheBuildCouldCompileThem() {
        assumeTrue(System.getProperty("os.name").startsWith("Linux") && System.getProperty("os.arch").equals("amd64") && buildHadGcc(),
                "no gcc or not Linux x86-64: the Java kernels are the only ones");
        assertTrue(NativeKernels.available(), "the build compiled the native kernels but they did not load: " + NativeKernels.describe());
    }

    @ParameterizedTest(name = "{0} n={1} {2}x{3} vnni={4}")
    @CsvSource({"Q8_0,1,77,768,false", "Q8_0,5,9,256,false", "Q4_0,1,77,768,false", "Q4_0,7,6,2048,false", "Q8_0,64,13,96,false",
            "Q8_0,1,77,768,true", "Q8_0,5,9,256,true", "Q4_0,1,77,768,true", "Q4_0,7,6,2048,true", "Q4_0,64,13,96,true"})
    void nativeEqualsJavaBitForBit(GgmlType type, int n, int rows, int cols, boolean vnni) {
        assumeTrue(NativeKernels.available(), "native kernels not built here");
        boolean selected = NativeKernels.selectVnni(vnni);
        try (Arena arena = Arena.ofShared()) {
            assumeTrue(selected == vnni, "this CPU has no AVX-VNNI");
            QuantizedTensor w = MatVecTest.randomTensor(type, rows, cols, 51, arena);
            SplittableRandom r = new SplittableRandom(52);
            float[] x = new float[n * cols];
            for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * (i % 97 == 0 ? 30 : 1)); // some outliers
            Q8Activation xq = new Q8Activation(n * cols).quantize(x, n * cols);
            float[] nat = new float[n * rows];
            NativeKernels.int8(w, 0, rows, xq, n, nat, rows, 0);
            for (int t = 0; t < n; t++) {
                for (int row = 0; row < rows; row++) {
                    long off = row * w.rowBytes();
                    float java = type == GgmlType.Q8_0 ? MatVec.dotQ8_0Int(w.data(), off, xq, t * cols / 32, cols)
                            : MatVec.dotQ4_0Int(w.data(), off, xq, t * cols / 32, cols);
                    assertEquals(Float.floatToRawIntBits(java), Float.floatToRawIntBits(nat[t * rows + row]), "token " + t + " row " + row);
                }
            }
        } finally {
            NativeKernels.selectVnni(true); // back to the default: VNNI where the CPU has it
        }
    }

    @Test
    void outOfRangeArgumentsNeverReachNativeCode() {
        assumeTrue(NativeKernels.available(), "native kernels not built here");
        try (Arena arena = Arena.ofShared()) {
            QuantizedTensor w = MatVecTest.randomTensor(GgmlType.Q8_0, 8, 64, 1, arena);
            Q8Activation xq = new Q8Activation(128).quantize(new float[128], 128);
            assertThrows(IndexOutOfBoundsException.class, () -> NativeKernels.int8(w, 0, 9, xq, 1, new float[16], 8, 0));
            assertThrows(IndexOutOfBoundsException.class, () -> NativeKernels.int8(w, 0, 8, xq, 2, new float[15], 8, 0));
            assertThrows(IllegalArgumentException.class, () -> NativeKernels.int8(w, 0, 8, xq, 3, new float[24], 8, 0));
        }
    }
}
