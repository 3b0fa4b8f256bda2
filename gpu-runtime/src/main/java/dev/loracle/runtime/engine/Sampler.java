package dev.loracle.runtime.engine;

import java.util.Arrays;

/**
 * Picks the next token from logits: greedy (temperature 0, lowest id on ties), or softmax(logits / temperature)
 * sampled with a seeded {@link SplitMix64}, optionally restricted to the top-p nucleus. Only StrictMath and fixed
 * summation order are used, so identical logits and seed give the identical token everywhere.
 */
public final class Sampler {
    private final float temperature;
    private final float topP;
    private final SplitMix64 rng;
    private double[] probs = new double[0];
    private Integer[] order = new Integer[0];

    public Sampler(float temperature, float topP, long seed) {
        if (!Float.isFinite(temperature) || temperature < 0) throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
        this.temperature = temperature;
        this.topP = topP;
        this.rng = new SplitMix64(seed);
    }

    public static int argmax(float[] logits, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }

    public int sample(float[] logits, int n) {
        if (temperature == 0f) return argmax(logits, n);
        if (probs.length < n) {
            probs = new double[n];
            order = new Integer[n];
        }
        float max = logits[argmax(logits, n)];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            probs[i] = StrictMath.exp((logits[i] - max) / (double) temperature);
            sum += probs[i];
        }
        for (int i = 0; i < n; i++) probs[i] /= sum;
        double coin = rng.nextFloat();
        return topP < 1f ? sampleTopP(n, coin) : sampleAll(n, coin);
    }

    private int sampleAll(int n, double coin) {
        double cdf = 0;
        for (int i = 0; i < n; i++) {
            cdf += probs[i];
            if (coin < cdf) return i;
        }
        return n - 1;
    }

    private int sampleTopP(int n, double coin) {
        // Tokens below (1 - p) / (n - 1) can never be in the nucleus: leave them out of the sort (llama2.c's trick).
        double cutoff = (1.0 - topP) / Math.max(1, n - 1);
        int m = 0;
        for (int i = 0; i < n; i++) if (probs[i] >= cutoff) order[m++] = i;
        Arrays.sort(order, 0, m, (a, b) -> probs[a] != probs[b] ? Double.compare(probs[b], probs[a]) : Integer.compare(a, b));
        double cumulative = 0;
        int last = m - 1;
        for (int i = 0; i < m; i++) {
            cumulative += probs[order[i]];
            if (cumulative > topP) {
                last = i;
                break;
            }
        }
        double r = coin * cumulative;
        double cdf = 0;
        for (int i = 0; i <= last; i++) {
            cdf += probs[order[i]];
            if (r < cdf) return order[i];
        }
        return order[last];
    }
}
