package dev.loracle.runtime.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.loracle.runtime.memory.MemoryBudget;
import dev.loracle.runtime.model.LlamaWeights;
import dev.loracle.runtime.model.ModelConfig;
import dev.loracle.runtime.model.ModelConfig.RopeScaling;
import dev.loracle.runtime.model.ModelConfig.RopeStyle;
import dev.loracle.runtime.tensor.GgmlType;
import dev.loracle.runtime.tensor.MatVec;
import dev.loracle.runtime.tensor.QuantizedTensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A Qwen3 block from the published formula, computed here independently in double precision: per-head RMSNorm of q and
 * k (q_norm/k_norm, weight [headDim]) before NeoX RoPE, head size 16 with 4 heads on a 32-wide model (qDim 64 != dim),
 * grouped-query attention, SwiGLU. The plan must give the same logits within float rounding.
 */
class Qwen3PlanTest {
    private static final int DIM = 32, HIDDEN = 48, LAYERS = 2, HEADS = 4, KV_HEADS = 2, HEAD = 16, VOCAB = 40;
    private static final float EPS = 1e-6f, THETA = 1e6f;

    private final Random random = new Random(3);
    private final Arena arena = Arena.ofAuto();

    private float[] values(int n, float amplitude) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (random.nextFloat() * 2 - 1) * amplitude;
        return v;
    }

    private QuantizedTensor f32(String name, int rows, int cols, float[] v) {
        MemorySegment s = arena.allocate((long) v.length * 4, 64);
        MemorySegment.copy(v, 0, s, java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, 0, v.length);
        return new QuantizedTensor(name, GgmlType.F32, rows, cols, s);
    }

    private float[] norm(int n) {
        float[] v = values(n, 0.3f);
        for (int i = 0; i < n; i++) v[i] += 1f;
        return v;
    }

    @Test
    void perHeadQkNormBeforeNeoxRopeMatchesTheFormula() {
        ModelConfig c = new ModelConfig("qwen3", DIM, HIDDEN, LAYERS, HEADS, KV_HEADS, HEAD, VOCAB, 64, EPS, THETA,
                RopeStyle.NEOX, RopeScaling.NONE);
        int qDim = HEADS * HEAD, kvDim = KV_HEADS * HEAD;
        float[] emb = values(VOCAB * DIM, 1f), outNorm = norm(DIM), cls = values(VOCAB * DIM, 0.3f);
        List<float[][]> raw = new ArrayList<>();
        List<LlamaWeights.Layer> layers = new ArrayList<>();
        for (int l = 0; l < LAYERS; l++) {
            float[][] t = {norm(DIM), values(qDim * DIM, 0.2f), values(kvDim * DIM, 0.2f), values(kvDim * DIM, 0.2f),
                    values(DIM * qDim, 0.2f), norm(DIM), values(HIDDEN * DIM, 0.2f), values(DIM * HIDDEN, 0.2f),
                    values(HIDDEN * DIM, 0.2f), norm(HEAD), norm(HEAD)};
            raw.add(t);
            layers.add(new LlamaWeights.Layer(f32("an", 1, DIM, t[0]), f32("q", qDim, DIM, t[1]), f32("k", kvDim, DIM, t[2]),
                    f32("v", kvDim, DIM, t[3]), f32("o", DIM, qDim, t[4]), f32("fn", 1, DIM, t[5]), f32("g", HIDDEN, DIM, t[6]),
                    f32("d", DIM, HIDDEN, t[7]), f32("u", HIDDEN, DIM, t[8]), null, null, null,
                    f32("qn", 1, HEAD, t[9]), f32("kn", 1, HEAD, t[10])));
        }
        LlamaWeights w = new LlamaWeights(c, f32("emb", VOCAB, DIM, emb), layers, f32("on", 1, DIM, outNorm), f32("cls", VOCAB, DIM, cls));
        int[] tokens = {3, 17, 5, 31, 8};
        float[][] got;
        try (CpuBackend b = new CpuBackend(2, MatVec.DotMode.FLOAT, new MemoryBudget("cpu", EngineConfig.NO_RED_LINE))) {
            b.loadBase(w);
            got = StepHarness.logitsAlong(b, tokens, AdapterBinding.BASE);
        }
        double[][] want = reference(tokens, emb, raw, outNorm, cls);
        for (int t = 0; t < tokens.length; t++) {
            for (int v = 0; v < VOCAB; v++) assertEquals(want[t][v], got[t][v], 2e-4, "logit " + v + " at position " + t);
        }
    }

    /** The Qwen3 forward pass, written out in double precision. */
    private static double[][] reference(int[] tokens, float[] emb, List<float[][]> raw, float[] outNorm, float[] cls) {
        int n = tokens.length, qDim = HEADS * HEAD, kvDim = KV_HEADS * HEAD;
        double[][] x = new double[n][DIM];
        for (int t = 0; t < n; t++) for (int i = 0; i < DIM; i++) x[t][i] = emb[tokens[t] * DIM + i];
        for (float[][] L : raw) {
            double[][] q = new double[n][], k = new double[n][], v = new double[n][];
            for (int t = 0; t < n; t++) {
                double[] h = rms(x[t], L[0]);
                q[t] = matvec(L[1], h, qDim);
                k[t] = matvec(L[2], h, kvDim);
                v[t] = matvec(L[3], h, kvDim);
                for (int hd = 0; hd < HEADS; hd++) headNormRope(q[t], hd * HEAD, L[9], t);
                for (int hd = 0; hd < KV_HEADS; hd++) headNormRope(k[t], hd * HEAD, L[10], t);
            }
            for (int t = 0; t < n; t++) {
                double[] att = new double[qDim];
                for (int hd = 0; hd < HEADS; hd++) {
                    int kvh = hd / (HEADS / KV_HEADS);
                    double[] s = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int p = 0; p <= t; p++) {
                        for (int i = 0; i < HEAD; i++) s[p] += q[t][hd * HEAD + i] * k[p][kvh * HEAD + i];
                        s[p] /= Math.sqrt(HEAD);
                        max = Math.max(max, s[p]);
                    }
                    for (int p = 0; p <= t; p++) sum += s[p] = Math.exp(s[p] - max);
                    for (int p = 0; p <= t; p++) for (int i = 0; i < HEAD; i++) att[hd * HEAD + i] += s[p] / sum * v[p][kvh * HEAD + i];
                }
                double[] o = matvec(L[4], att, DIM);
                for (int i = 0; i < DIM; i++) x[t][i] += o[i];
                double[] h = rms(x[t], L[5]);
                double[] g = matvec(L[6], h, HIDDEN), u = matvec(L[8], h, HIDDEN);
                for (int i = 0; i < HIDDEN; i++) g[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
                double[] d = matvec(L[7], g, DIM);
                for (int i = 0; i < DIM; i++) x[t][i] += d[i];
            }
        }
        double[][] logits = new double[n][];
        for (int t = 0; t < n; t++) logits[t] = matvec(cls, rms(x[t], outNorm), VOCAB);
        return logits;
    }

    /** q_norm / k_norm of one head, then NeoX RoPE: pairs (i, i + HEAD/2), angle pos * theta^(-2i/HEAD). */
    private static void headNormRope(double[] x, int off, float[] weight, int pos) {
        double ss = 0;
        for (int i = 0; i < HEAD; i++) ss += x[off + i] * x[off + i];
        double inv = 1 / Math.sqrt(ss / HEAD + EPS);
        for (int i = 0; i < HEAD; i++) x[off + i] = x[off + i] * inv * weight[i];
        for (int i = 0; i < HEAD / 2; i++) {
            double a = pos * Math.pow(THETA, -2.0 * i / HEAD);
            double x0 = x[off + i], x1 = x[off + i + HEAD / 2];
            x[off + i] = x0 * Math.cos(a) - x1 * Math.sin(a);
            x[off + i + HEAD / 2] = x0 * Math.sin(a) + x1 * Math.cos(a);
        }
    }

    private static double[] rms(double[] x, float[] w) {
        double ss = 0;
        for (double v : x) ss += v * v;
        double inv = 1 / Math.sqrt(ss / x.length + EPS);
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) out[i] = x[i] * inv * w[i];
        return out;
    }

    private static double[] matvec(float[] w, double[] x, int rows) {
        double[] y = new double[rows];
        for (int r = 0; r < rows; r++) for (int c = 0; c < x.length; c++) y[r] += w[r * x.length + c] * x[c];
        return y;
    }
}
