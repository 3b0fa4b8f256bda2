package dev.loracle.runtime.cuda;

import dev.loracle.runtime.cuda.BatchKernels.Weights;
import dev.loracle.runtime.lora.ProjectionKind;

import java.util.List;
import java.util.Objects;

/**
 * One forward step as the CUDA executor takes it: per row the token, its position, its sequence slot and whether it
 * wants logits; per slot the device addresses of its KV blocks; rows grouped in segments, each run on the base, on a
 * merged copy, or with low-rank operands added. (The engine's StepBatch maps onto this one to one.)
 */
record StepInput(int[] tokens, int[] positions, int[] slots, long[][] blockAddresses, boolean[] wantLogits,
                 List<Segment> segments) {

    /** y += sum coef B (A x): A [rank x in] at a, B^T [rank x out] at bt (F32), coef = w_i * s_i. */
    record Operand(DevicePtr a, DevicePtr bt, int rank, float coef) {}

    /** The low-rank operands a set adds to one projection, in member order (empty when none of them targets it). */
    interface LowRankSet {
        List<Operand> operands(int layer, ProjectionKind kind);
    }

    /** Merged copies that replace base projections for a segment's rows (null: the base one is used). */
    interface MergedSet {
        Weights weight(int layer, ProjectionKind kind);
    }

    /** Rows [start, end); at most one of lowRank / merged is set (neither: base). */
    record Segment(int start, int end, LowRankSet lowRank, MergedSet merged) {
        Segment {
            if (start < 0 || end <= start) throw new IllegalArgumentException("bad segment [" + start + ", " + end + ")");
            if (lowRank != null && merged != null) throw new IllegalArgumentException("a segment is low-rank or merged, not both");
        }
    }

    StepInput {
        int n = tokens.length;
        if (n == 0) throw new IllegalArgumentException("a step needs at least one row");
        if (positions.length != n || slots.length != n || wantLogits.length != n) {
            throw new IllegalArgumentException("per-row arrays differ in length");
        }
        Objects.requireNonNull(blockAddresses, "blockAddresses");
        int next = 0;
        for (Segment s : segments) {
            if (s.start() != next) throw new IllegalArgumentException("segments must cover the rows in order; gap at " + next);
            next = s.end();
        }
        if (next != n) throw new IllegalArgumentException("segments cover " + next + " of " + n + " rows");
    }

    int size() { return tokens.length; }
}
