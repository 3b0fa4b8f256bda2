package dev.loracle.runtime.engine;

import dev.loracle.runtime.lora.LoraAdapter;
import dev.loracle.runtime.lora.LoraMath.WeightedTarget;
import dev.loracle.runtime.lora.LoraTarget;
import dev.loracle.runtime.lora.ModelShape;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Drives a {@link Backend} directly through the step seam for one sequence (tests): its own KV blocks, steps of rows. */
public final class StepHarness implements AutoCloseable {
    private final Backend backend;
    private final KvBlockStorage kv;
    private final int[] table;

    public StepHarness(Backend backend, KvCacheType type, int positions) {
        this.backend = backend;
        this.kv = backend.createKvStorage(type);
        this.table = new int[KvBlockPool.blocksFor(positions)];
        for (int i = 0; i < table.length; i++) {
            table[i] = i;
            kv.acquire(i);
        }
    }

    /** Feeds {@code tokens} at positions {@code start..} in one step; logits rows for every token or the last only. */
    public float[][] feed(int[] tokens, int start, AdapterBinding binding, boolean everyRow) {
        int n = tokens.length;
        int[] positions = new int[n];
        boolean[] want = new boolean[n];
        for (int i = 0; i < n; i++) {
            positions[i] = start + i;
            want[i] = everyRow || i == n - 1;
        }
        StepBatch batch = new StepBatch(tokens.clone(), positions, new int[n], want, new int[][] {table},
                List.of(new StepBatch.Segment(0, n, binding)));
        float[] flat = backend.execute(batch, kv);
        int vocab = backend.plan().config().vocabSize();
        float[][] rows = new float[batch.logitRows()][];
        for (int r = 0; r < rows.length; r++) rows[r] = java.util.Arrays.copyOfRange(flat, r * vocab, (r + 1) * vocab);
        return rows;
    }

    /** Greedy decoding: the prompt as one step, then one step per token. */
    public static int[] greedy(Backend b, int[] prompt, int steps, AdapterBinding binding, KvCacheType type) {
        int[] out = new int[steps];
        try (StepHarness h = new StepHarness(b, type, prompt.length + steps)) {
            float[] logits = h.feed(prompt, 0, binding, false)[0];
            for (int s = 0; s < steps; s++) {
                out[s] = Sampler.argmax(logits, logits.length);
                if (s + 1 < steps) logits = h.feed(new int[] {out[s]}, prompt.length + s, binding, false)[0];
            }
        }
        return out;
    }

    /** Logits after every token of {@code tokens} (teacher-forced), all rows in one step. */
    public static float[][] logitsAlong(Backend b, int[] tokens, AdapterBinding binding) {
        try (StepHarness h = new StepHarness(b, KvCacheType.F32, tokens.length)) {
            return h.feed(tokens, 0, binding, true);
        }
    }

    /**
     * Uploads every weighted target as a one-target adapter with its weight and returns the low-rank binding of them
     * all (the same sum as the deltas); the uploaded adapters are added to {@code uploaded} for the caller to close.
     */
    public static AdapterBinding.LowRank upload(Backend b, Map<TensorId, List<WeightedTarget>> deltas, List<DeviceAdapter> uploaded) {
        List<AdapterBinding.LowRankMember> members = new ArrayList<>();
        try {
            for (List<WeightedTarget> list : deltas.values()) {
                for (WeightedTarget wt : list) {
                    DeviceAdapter d = b.upload(new LoraAdapter("harness-" + uploaded.size(), ModelShape.LLAMA, List.of(wt.target())));
                    uploaded.add(d);
                    members.add(new AdapterBinding.LowRankMember(d, wt.weight()));
                }
            }
        } catch (RuntimeException e) {
            uploaded.forEach(DeviceAdapter::close);
            throw e;
        }
        return new AdapterBinding.LowRank(members);
    }

    /** y + sum_i w_i s_i B_i (A_i x) with the CPU backend's low-rank kernel (members in list order). */
    public static float[] cpuLowRankAdd(float[] x, float[] y, List<WeightedTarget> deltas) {
        float[] out = y.clone();
        for (WeightedTarget wt : deltas) {
            CpuDeviceAdapter.Target t = CpuDeviceAdapter.Target.of(wt.target());
            CpuDeviceAdapter.apply(t, wt.weight(), x, 0, out, 0, new float[t.rank()]);
        }
        return out;
    }

    @Override
    public void close() {
        for (int id : table) kv.release(id);
        kv.close();
    }
}
