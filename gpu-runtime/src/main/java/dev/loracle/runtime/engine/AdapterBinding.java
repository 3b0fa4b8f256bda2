package dev.loracle.runtime.engine;

import java.util.List;
import java.util.Objects;

/**
 * What a segment of a step's rows runs with: the base model, an unmerged weighted set of resident adapters (the
 * low-rank deltas are added after each base projection, members in list order), or a MERGED copy of a set's tensors
 * (used instead of the base tensors it replaces).
 */
public sealed interface AdapterBinding {

    AdapterBinding BASE = new Base();

    record Base() implements AdapterBinding {}

    /** {@code y += sum_i (w_i s_i) B_i (A_i x)} for each member that targets the projection, in this order. */
    record LowRank(List<LowRankMember> members) implements AdapterBinding {
        public LowRank {
            members = List.copyOf(members);
            if (members.isEmpty()) throw new IllegalArgumentException("a low-rank set needs at least one member");
        }
    }

    /** A resident adapter with its weight w_i in the set (its per-target scale s_i lives with the adapter). */
    record LowRankMember(DeviceAdapter adapter, float weight) {
        public LowRankMember {
            Objects.requireNonNull(adapter, "adapter");
            if (!Float.isFinite(weight)) throw new IllegalArgumentException("adapter weight must be finite, got " + weight);
        }
    }

    /** Copy-on-write merged tensors of a set, from {@link Backend#mergeInto}. */
    record Merged(WeightOverlay copy) implements AdapterBinding {
        public Merged {
            Objects.requireNonNull(copy, "copy");
            if (copy.mode() != AttachMode.MERGED) throw new IllegalArgumentException("not a merged copy: " + copy.mode());
        }
    }
}
