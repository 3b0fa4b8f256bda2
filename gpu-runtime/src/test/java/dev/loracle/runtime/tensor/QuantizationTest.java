package dev.loracle.runtime.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.runtime.model.GgufFile;
import dev.loracle.runtime.model.MappedFile;
import dev.loracle.runtime.model.TestModels;
import dev.loracle.runtime.model.WeightConverter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class QuantizationTest {

    private static float[] randomRow(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * 0.5);
        return x;
    }

    @Test
    void vectorDequantizeMatchesTheBlockLayoutElementByElement() {
        float[] x = randomRow(32 * 24, 5);
        for (GgmlType type : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0}) {
            MemorySegment q = Arena.ofAuto().allocate(type.bytesFor(x.length));
            Quantization.quantize(type, x, 0, x.length, q, 0);
            float[] y = new float[x.length];
            Quantization.dequantize(type, q, 0, y, 0, x.length);
            int blockBytes = type == GgmlType.Q8_0 ? 34 : 18;
            for (int b = 0; b < x.length / 32; b++) {
                long o = (long) b * blockBytes;
                float d = Float.float16ToFloat(q.get(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, o));
                for (int j = 0; j < 32; j++) {
                    int code = type == GgmlType.Q8_0 ? q.get(java.lang.foreign.ValueLayout.JAVA_BYTE, o + 2 + j)
                            : j < 16 ? (q.get(java.lang.foreign.ValueLayout.JAVA_BYTE, o + 2 + j) & 0xF) - 8
                            : ((q.get(java.lang.foreign.ValueLayout.JAVA_BYTE, o + 2 + j - 16) & 0xFF) >>> 4) - 8;
                    assertEquals(Float.floatToIntBits(d * code), Float.floatToIntBits(y[b * 32 + j]), type + " element " + (b * 32 + j));
                }
            }
        }
    }

    @Test
    void q8RoundTripErrorIsWithinHalfAStepPerBlock() {
        float[] x = randomRow(32 * 64, 1);
        MemorySegment q = Arena.ofAuto().allocate(GgmlType.Q8_0.bytesFor(x.length));
        Quantization.quantizeQ8_0(x, 0, x.length, q, 0);
        float[] y = new float[x.length];
        Quantization.dequantize(GgmlType.Q8_0, q, 0, y, 0, x.length);
        for (int b = 0; b < x.length / 32; b++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]));
            float step = amax / 127f;
            for (int j = 0; j < 32; j++) {
                int i = b * 32 + j;
                // half a step for rounding plus the fp16 rounding of the scale (relative 2^-11, times up to 127 steps)
                assertTrue(Math.abs(x[i] - y[i]) <= step * 0.5f + amax * 0x1p-10f, "element " + i);
            }
        }
    }

    @Test
    void q4RoundTripErrorIsWithinOneStepPerBlock() {
        float[] x = randomRow(32 * 64, 2);
        MemorySegment q = Arena.ofAuto().allocate(GgmlType.Q4_0.bytesFor(x.length));
        Quantization.quantizeQ4_0(x, 0, x.length, q, 0);
        float[] y = new float[x.length];
        Quantization.dequantize(GgmlType.Q4_0, q, 0, y, 0, x.length);
        double err = 0, norm = 0;
        for (int b = 0; b < x.length / 32; b++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]));
            float step = amax / 8f;
            for (int j = 0; j < 32; j++) {
                int i = b * 32 + j;
                // half a step, except values opposite to the extreme, which clamp at 7d: up to one step
                assertTrue(Math.abs(x[i] - y[i]) <= step + amax * 0x1p-9f, "element " + i + ": " + x[i] + " vs " + y[i]);
                err += (x[i] - y[i]) * (x[i] - y[i]);
                norm += x[i] * x[i];
            }
        }
        assertTrue(Math.sqrt(err / norm) < 0.12, "relative RMS error " + Math.sqrt(err / norm));
    }

    @Test
    void q4BlockLayoutPutsElementJInTheLowNibbleAndJPlus16InTheHigh() {
        float[] x = new float[32];
        for (int j = 0; j < 32; j++) x[j] = j - 16; // max |x| is -16 -> d = 2, q = x/2 + 8
        MemorySegment q = Arena.ofAuto().allocate(18);
        Quantization.quantizeQ4_0(x, 0, 32, q, 0);
        assertEquals(2.0f, Float.float16ToFloat(q.get(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 0)));
        int b0 = q.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 2) & 0xFF;
        assertEquals(0, b0 & 0xF);                 // x[0] = -16 -> 0
        assertEquals(8, b0 >>> 4);                 // x[16] = 0 -> 8
    }

    @Test
    void roundingIsHalfAwayFromZeroLikeCRoundf() {
        assertEquals(-3, Quantization.roundHalfAway(-2.5f));
        assertEquals(3, Quantization.roundHalfAway(2.5f));
        assertEquals(0, Quantization.roundHalfAway(0.49999997f));
        assertEquals(-1, Quantization.roundHalfAway(-0.5f));
    }

    /** Quantizing the F32 GGUF ourselves gives byte-identical blocks to llama.cpp's quantized GGUF files. */
    @ParameterizedTest
    @ValueSource(strings = {"Q8_0", "Q4_0"})
    void quantizingTheF32ModelReproducesLlamaCppBlocksBitForBit(String typeName) {
        GgmlType type = GgmlType.valueOf(typeName);
        Path quantFile = type == GgmlType.Q8_0 ? TestModels.ggufQ8() : TestModels.ggufQ4();
        try (Arena arena = Arena.ofShared()) {
            GgufFile f32 = GgufFile.parse(MappedFile.map(TestModels.ggufF32(), arena));
            GgufFile q = GgufFile.parse(MappedFile.map(quantFile, arena));
            int compared = 0;
            for (String name : q.tensorInfos().keySet()) {
                QuantizedTensor theirs = q.tensor(name);
                if (theirs.type() != type) continue;
                QuantizedTensor ours = WeightConverter.recode(f32.tensor(name), type, arena);
                long mismatch = ours.bytes().mismatch(theirs.bytes());
                assertEquals(-1, mismatch, name + " differs at byte " + mismatch);
                compared++;
            }
            assertTrue(compared >= 30, "compared " + compared + " tensors");
        }
    }

    @Test
    void badLengthsAreRejected() {
        MemorySegment q = Arena.ofAuto().allocate(64);
        assertThrows(IllegalArgumentException.class, () -> Quantization.quantizeQ8_0(new float[33], 0, 33, q, 0));
        assertThrows(IllegalArgumentException.class, () -> GgmlType.parse("q5_k"));
        assertThrows(IllegalArgumentException.class,
                () -> new QuantizedTensor("t", GgmlType.Q8_0, 2, 40, q));
    }
}
