package dev.loracle.runtime.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.runtime.lora.ProjectionKind;
import dev.loracle.runtime.lora.WeightedAdapter;
import dev.loracle.runtime.memory.MemoryCategory;
import dev.loracle.runtime.model.ArchGolden;
import dev.loracle.runtime.model.WeightFormat;
import dev.loracle.runtime.tensor.GgmlType;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;

/** MERGED adapters on a K-quant base: the merged copies are Q8_0 (no K-quant encoder), and agree with UNMERGED. */
class KQuantMergeTest {
    private static final int[] TOKENS = {1, 403, 407, 261, 378, 11, 30};

    @Test
    void mergedCopyOfAKQuantBaseIsQ8AndMatchesUnmerged() {
        try (InferenceEngine e = AdapterLifecycleTest.open(ArchGolden.model("kq-Q4_K_M"), WeightFormat.AS_FILE)) {
            var l0 = e.weights().layers().getFirst();
            assertEquals(GgmlType.Q4_K, l0.wq().type());
            List<WeightedAdapter> adapters = List.of(new WeightedAdapter(
                    AdapterLifecycleTest.random(e.shape(), 8, EnumSet.of(ProjectionKind.Q, ProjectionKind.V, ProjectionKind.DOWN), 5), 1f));
            float[] base = e.logits(null, TOKENS);
            Attachment m = e.attach(adapters, AttachMode.MERGED);
            // Q and V of every layer and DOWN, held as Q8_0: 34 bytes per 32 values
            long q8Bytes = 0;
            for (var l : e.weights().layers()) {
                q8Bytes += GgmlType.Q8_0.bytesFor(l.wq().elements()) + GgmlType.Q8_0.bytesFor(l.wv().elements())
                        + GgmlType.Q8_0.bytesFor(l.down().elements());
            }
            assertEquals(q8Bytes, e.memory().used(MemoryCategory.WORKING_COPY));
            float[] merged = e.logits(m, TOKENS);
            e.detach(m);
            Attachment u = e.attach(adapters, AttachMode.UNMERGED);
            float[] unmerged = e.logits(u, TOKENS);
            e.detach(u);
            float effect = AdapterLifecycleTest.maxAbsDiff(base, unmerged);
            float diff = AdapterLifecycleTest.maxAbsDiff(merged, unmerged);
            assertTrue(effect > 0.05f * AdapterLifecycleTest.maxAbs(base), "the adapter changes the logits: " + effect);
            // the merged copy carries one Q8_0 rounding of (W + delta); unmerged multiplies the Q4_K W as stored
            assertTrue(diff < 0.1f * effect, "MERGED vs UNMERGED differ by " + diff + " (adapter effect " + effect + ")");
            assertEquals(0, e.memory().used(MemoryCategory.WORKING_COPY));
        }
    }
}
