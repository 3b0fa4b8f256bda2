package dev.loracle.runtime.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.runtime.model.TestModels;
import org.junit.jupiter.api.Test;

class SamplerTest {

    @Test
    void splitMixIsTheSpecifiedSequence() {
        // SplitMix64 reference values for seed 0 (from the published algorithm)
        SplitMix64 r = new SplitMix64(0);
        assertEquals(0xE220A8397B1DCDAFL, r.nextLong());
        assertEquals(0x6E789E6AA1B965F4L, r.nextLong());
        assertEquals(0x06C45D188009454FL, r.nextLong());
    }

    @Test
    void greedyPicksTheFirstMaximum() {
        assertEquals(2, new Sampler(0f, 1f, 1).sample(new float[] {1, 3, 5, 5, -1}, 5));
    }

    @Test
    void topPRestrictsToTheNucleus() {
        float[] logits = {10f, 9.5f, 0f, -1f, -2f}; // first two hold > 99.9% of the mass
        Sampler s = new Sampler(1f, 0.9f, 7);
        for (int i = 0; i < 500; i++) {
            int t = s.sample(logits, logits.length);
            assertTrue(t == 0 || t == 1, "token " + t + " is outside the nucleus");
        }
        Sampler all = new Sampler(5f, 1f, 7); // hot: the tail shows up
        boolean tail = false;
        for (int i = 0; i < 500 && !tail; i++) tail = all.sample(logits, logits.length) >= 2;
        assertTrue(tail);
    }

    @Test
    void badParametersAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new Sampler(-1f, 1f, 0));
        assertThrows(IllegalArgumentException.class, () -> new Sampler(1f, 0f, 0));
        assertThrows(IllegalArgumentException.class, () -> new GenerationRequest("x", 0, 0f, 1f, 0));
        assertThrows(IllegalArgumentException.class, () -> new GenerationRequest("x", 5, Float.NaN, 1f, 0));
    }

    @Test
    void sameSeedSameTokensDifferentSeedDifferentTokens() {
        EngineConfig cfg = EngineConfig.of(TestModels.stories260kBin()).withThreads(2).withBackend(BackendKind.CPU);
        try (InferenceEngine e = InferenceEngine.open(cfg)) {
            GenerationRequest a = new GenerationRequest("Once upon a time", 40, 0.9f, 0.9f, 42);
            int[] first = e.generate(null, a, null).tokens();
            int[] second = e.generate(null, a, null).tokens();
            assertArrayEquals(first, second);
            int[] other = e.generate(null, new GenerationRequest("Once upon a time", 40, 0.9f, 0.9f, 43), null).tokens();
            assertFalse(java.util.Arrays.equals(first, other));
        }
        try (InferenceEngine one = InferenceEngine.open(cfg.withThreads(1))) {
            GenerationRequest a = new GenerationRequest("Once upon a time", 40, 0.9f, 0.9f, 42);
            try (InferenceEngine two = InferenceEngine.open(cfg)) {
                assertArrayEquals(two.generate(null, a, null).tokens(), one.generate(null, a, null).tokens(), "thread count does not matter");
            }
        }
    }

    @Test
    void utf8PiecesAreHeldUntilComplete() {
        Utf8Accumulator u = new Utf8Accumulator();
        byte[] snow = "☃".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        assertEquals("", u.add(new byte[] {snow[0]}));
        assertEquals("", u.add(new byte[] {snow[1]}));
        assertEquals("☃a", u.add(new byte[] {snow[2], 'a'}));
        assertEquals("", u.flush());
    }
}
