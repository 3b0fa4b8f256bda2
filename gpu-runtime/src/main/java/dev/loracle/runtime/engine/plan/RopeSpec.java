package dev.loracle.runtime.engine.plan;

import dev.loracle.runtime.model.ModelConfig;
import dev.loracle.runtime.model.ModelConfig.RopeScaling;
import dev.loracle.runtime.model.ModelConfig.RopeStyle;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * Rotary position embedding of one model: which elements pair up ({@link RopeStyle}), the base frequencies
 * {@code theta^(-2i/headDim)} divided by optional per-pair factors (Llama 3.1 {@code rope_freqs}), and context
 * scaling (LINEAR divides the angle by the factor; YARN blends interpolated and original angles per pair with the
 * YaRN ramp and scales the magnitude by {@code 1 + 0.1 ln(factor)}, as llama.cpp's {@code rope_yarn}).
 * Angles follow llama.cpp's float steps (pair i's angle = position * (theta^(-2/headDim))^i multiplied up in float,
 * then divided by its factor, float cos/sin): a function of the position only, so they do not depend on how many
 * rows the step holds, and q/k match llama.cpp's rounding before they are quantized or stored as F16.
 */
public final class RopeSpec {
    private final RopeStyle style;
    private final int headDim;
    private final float thetaScale;      // theta^(-2/headDim): pair i+1's frequency is pair i's times this
    private final float[] freqFactors;   // per pair, or null
    private final RopeScaling scaling;
    private final double[] yarnRamp;     // per pair: 1 = original angle, 0 = interpolated (YARN only)
    private final float magnitude;

    public RopeSpec(RopeStyle style, int headDim, float theta, float[] freqFactors, RopeScaling scaling) {
        this.style = Objects.requireNonNull(style, "style");
        this.scaling = Objects.requireNonNull(scaling, "scaling");
        this.headDim = headDim;
        int half = headDim / 2;
        if (freqFactors != null && freqFactors.length != half) {
            throw new IllegalArgumentException("rope_freqs has " + freqFactors.length + " factors, expected " + half);
        }
        thetaScale = (float) StrictMath.pow(theta, -2.0f / headDim);
        this.freqFactors = freqFactors == null ? null : freqFactors.clone();
        if (scaling.kind() == RopeScaling.Kind.YARN) {
            yarnRamp = yarnRamp(half, headDim, theta, scaling);
            magnitude = (float) (1 + 0.1 * Math.log(scaling.factor()));
        } else {
            yarnRamp = null;
            magnitude = 1f;
        }
    }

    /** The RoPE of {@code config}, with {@code freqs} (F32 [headDim/2], may be null) as frequency factors. */
    public static RopeSpec of(ModelConfig config, dev.loracle.runtime.tensor.QuantizedTensor freqs) {
        float[] factors = null;
        if (freqs != null) {
            factors = new float[Math.toIntExact(freqs.cols())];
            for (int i = 0; i < factors.length; i++) factors[i] = freqs.data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
        }
        return new RopeSpec(config.ropeStyle(), config.headDim(), config.ropeTheta(), factors, config.ropeScaling());
    }

    public RopeStyle style() { return style; }
    public int headDim() { return headDim; }
    public RopeScaling scaling() { return scaling; }

    /** cos and sin (times the YaRN magnitude) of the angle of each of the headDim/2 pairs at {@code pos}. */
    public void cosSin(int pos, float[] cos, float[] sin) {
        float theta = pos;
        for (int i = 0, half = headDim / 2; i < half; i++) {
            float original = freqFactors == null ? theta : theta / freqFactors[i];
            float angle = switch (scaling.kind()) {
                case NONE -> original;
                case LINEAR -> (1f / scaling.factor()) * original;
                case YARN -> {
                    float interpolated = (1f / scaling.factor()) * original;
                    float ramp = (float) yarnRamp[i];
                    yield interpolated * (1 - ramp) + original * ramp;
                }
            };
            cos[i] = (float) StrictMath.cos(angle) * magnitude;
            sin[i] = (float) StrictMath.sin(angle) * magnitude;
            theta *= thetaScale;
        }
    }

    /**
     * Rotates the {@code heads} heads of {@code x} starting at {@code off} in place: pair i of a head is
     * (2i, 2i+1) for ADJACENT and (i, i + headDim/2) for NEOX.
     */
    public void rotate(float[] x, int off, int heads, float[] cos, float[] sin) {
        int half = headDim / 2;
        for (int h = 0; h < heads; h++) {
            int base = off + h * headDim;
            for (int i = 0; i < half; i++) {
                int a = style == RopeStyle.ADJACENT ? base + 2 * i : base + i;
                int b = style == RopeStyle.ADJACENT ? a + 1 : a + half;
                float v0 = x[a], v1 = x[b];
                x[a] = v0 * cos[i] - v1 * sin[i];
                x[b] = v0 * sin[i] + v1 * cos[i];
            }
        }
    }

    /** YaRN's per-pair blend (llama.cpp ggml_rope_yarn_corr_dims + rope_yarn_ramp): 1 keeps the original angle. */
    private static double[] yarnRamp(int half, int headDim, float theta, RopeScaling s) {
        int ctx = s.originalContext();
        if (ctx <= 0) throw new IllegalArgumentException("YaRN scaling needs the original context length");
        double low = Math.max(0, Math.floor(correctionDim(headDim, ctx, s.betaFast(), theta)));
        double high = Math.min(headDim - 1, Math.ceil(correctionDim(headDim, ctx, s.betaSlow(), theta)));
        double[] ramp = new double[half];
        for (int i = 0; i < half; i++) {
            double y = (i - low) / Math.max(0.001, high - low);
            ramp[i] = 1 - Math.min(1, Math.max(0, y));
        }
        return ramp;
    }

    private static double correctionDim(int headDim, int ctx, float rotations, float theta) {
        return headDim * Math.log(ctx / (rotations * 2 * Math.PI)) / (2 * Math.log(theta));
    }
}
