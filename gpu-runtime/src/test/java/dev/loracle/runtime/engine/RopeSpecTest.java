package dev.loracle.runtime.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.loracle.runtime.engine.plan.RopeSpec;
import dev.loracle.runtime.model.ModelConfig.RopeScaling;
import dev.loracle.runtime.model.ModelConfig.RopeStyle;
import org.junit.jupiter.api.Test;

/** RoPE angles: frequency factors divide the frequency, LINEAR divides the angle, YaRN blends per pair as llama.cpp. */
class RopeSpecTest {
    private static final int HEAD = 64, HALF = HEAD / 2;

    private static double angle(RopeSpec r, int pos, int pair) {
        float[] c = new float[HALF], s = new float[HALF];
        r.cosSin(pos, c, s);
        return Math.atan2(s[pair], c[pair]);
    }

    private static double magnitude(RopeSpec r, int pos, int pair) {
        float[] c = new float[HALF], s = new float[HALF];
        r.cosSin(pos, c, s);
        return Math.hypot(c[pair], s[pair]);
    }

    @Test
    void frequencyFactorsDivideEachPairsFrequency() {
        float[] factors = new float[HALF];
        for (int i = 0; i < HALF; i++) factors[i] = 1 + i % 4;
        RopeSpec plain = new RopeSpec(RopeStyle.ADJACENT, HEAD, 500000f, null, RopeScaling.NONE);
        RopeSpec scaled = new RopeSpec(RopeStyle.ADJACENT, HEAD, 500000f, factors, RopeScaling.NONE);
        for (int i = 0; i < HALF; i++) {
            double f = Math.pow(500000, -2.0 * i / HEAD) / factors[i];
            assertEquals(Math.IEEEremainder(3 * f, 2 * Math.PI), angle(scaled, 3, i), 1e-6, "pair " + i);
        }
        assertEquals(angle(plain, 7, 4), angle(scaled, 7, 4), 1e-6, "factor 1 (pair 4) leaves the pair alone");
    }

    @Test
    void linearScalingDividesTheAngle() {
        RopeSpec plain = new RopeSpec(RopeStyle.NEOX, HEAD, 10000f, null, RopeScaling.NONE);
        RopeSpec linear = new RopeSpec(RopeStyle.NEOX, HEAD, 10000f, null, RopeScaling.linear(4f));
        for (int i = 0; i < HALF; i += 5) assertEquals(angle(plain, 2, i), angle(linear, 8, i), 1e-6);
    }

    @Test
    void yarnKeepsFastPairsInterpolatesSlowOnesAndScalesTheMagnitude() {
        RopeScaling yarn = new RopeScaling(RopeScaling.Kind.YARN, 4f, 4096, 32f, 1f);
        RopeSpec plain = new RopeSpec(RopeStyle.NEOX, HEAD, 10000f, null, RopeScaling.NONE);
        RopeSpec y = new RopeSpec(RopeStyle.NEOX, HEAD, 10000f, null, yarn);
        // llama.cpp corr dims: floor/ceil of HEAD * ln(4096 / (beta * 2 pi)) / (2 ln 10000) for beta 32 and 1
        double low = Math.floor(HEAD * Math.log(4096 / (32 * 2 * Math.PI)) / (2 * Math.log(10000)));
        double high = Math.ceil(HEAD * Math.log(4096 / (1 * 2 * Math.PI)) / (2 * Math.log(10000)));
        assertEquals(angle(plain, 1, 0), angle(y, 1, 0), 1e-6, "pair 0 (< low " + low + ") keeps its angle");
        assertEquals(angle(plain, 1, HALF - 1), angle(y, 4, HALF - 1), 1e-6, "last pair (> high " + high + ") is interpolated");
        assertEquals(1 + 0.1 * Math.log(4), magnitude(y, 5, 3), 1e-6, "YaRN magnitude");
    }
}
