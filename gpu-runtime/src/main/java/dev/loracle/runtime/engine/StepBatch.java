package dev.loracle.runtime.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * One forward pass over the tokens of several sequences (llama.cpp's {@code llama_batch}): prompt chunks and decode
 * tokens side by side. Per row t: {@code tokens[t]}, {@code positions[t]}, {@code sequence[t]} (index into
 * {@code blockTables}) and {@code wantLogits[t]}. The rows of one sequence are contiguous and in position order, and
 * all its earlier positions are already in its KV blocks. {@code segments} cover the rows in order; each gives the
 * {@link AdapterBinding} of its rows (tokens grouped by adapter set, as Punica/S-LoRA segments).
 */
public record StepBatch(int[] tokens, int[] positions, int[] sequence, boolean[] wantLogits, int[][] blockTables,
                        List<Segment> segments) {

    /** Rows [start, end) run with {@code binding}. */
    public record Segment(int start, int end, AdapterBinding binding) {
        public Segment {
            Objects.requireNonNull(binding, "binding");
            if (start < 0 || end <= start) throw new IllegalArgumentException("bad segment [" + start + ", " + end + ")");
        }
    }

    public StepBatch {
        int n = tokens.length;
        if (n == 0) throw new IllegalArgumentException("a step needs at least one token");
        if (positions.length != n || sequence.length != n || wantLogits.length != n) {
            throw new IllegalArgumentException("per-token arrays differ in length");
        }
        segments = List.copyOf(segments);
        int next = 0;
        for (Segment s : segments) {
            if (s.start() != next) throw new IllegalArgumentException("segments must cover the rows in order; gap at " + next);
            next = s.end();
        }
        if (next != n) throw new IllegalArgumentException("segments cover " + next + " of " + n + " rows");
        for (int t = 0; t < n; t++) {
            int s = sequence[t];
            if (s < 0 || s >= blockTables.length) throw new IllegalArgumentException("row " + t + ": no sequence " + s);
            int block = positions[t] / KvBlockStorage.BLOCK_POSITIONS;
            if (positions[t] < 0 || block >= blockTables[s].length) {
                throw new IllegalArgumentException("row " + t + ": position " + positions[t] + " outside the sequence's "
                        + blockTables[s].length + " KV blocks");
            }
        }
    }

    public int size() { return tokens.length; }

    /** Rows that want logits. */
    public int logitRows() {
        int k = 0;
        for (boolean b : wantLogits) if (b) k++;
        return k;
    }

    /** KV block holding (row t's sequence, position p). */
    public int block(int t, int p) { return blockTables[sequence[t]][p / KvBlockStorage.BLOCK_POSITIONS]; }

    /** Builds a step sequence by sequence; consecutive sequences with the same binding share a segment. */
    public static final class Builder {
        private int[] tokens = new int[64], positions = new int[64], sequence = new int[64];
        private boolean[] wantLogits = new boolean[64];
        private final List<int[]> tables = new ArrayList<>();
        private final List<Segment> segments = new ArrayList<>();
        private AdapterBinding current;
        private int segmentStart, n;

        /**
         * Adds {@code count} tokens of one sequence, {@code tokens[from..from+count)} at positions {@code startPos..},
         * logits wanted for the last one when {@code logitsAtEnd}. Returns the sequence's index in the step.
         */
        public int add(int[] blockTable, AdapterBinding binding, int[] src, int from, int count, int startPos, boolean logitsAtEnd) {
            if (count < 1) throw new IllegalArgumentException("count must be >= 1");
            if (current != null && !current.equals(binding)) {
                segments.add(new Segment(segmentStart, n, current));
                segmentStart = n;
            }
            current = binding;
            int seq = tables.size();
            tables.add(blockTable);
            ensure(n + count);
            for (int i = 0; i < count; i++, n++) {
                tokens[n] = src[from + i];
                positions[n] = startPos + i;
                sequence[n] = seq;
                wantLogits[n] = logitsAtEnd && i == count - 1;
            }
            return seq;
        }

        public int size() { return n; }

        private void ensure(int cap) {
            if (cap <= tokens.length) return;
            int c = Math.max(cap, tokens.length * 2);
            tokens = Arrays.copyOf(tokens, c);
            positions = Arrays.copyOf(positions, c);
            sequence = Arrays.copyOf(sequence, c);
            wantLogits = Arrays.copyOf(wantLogits, c);
        }

        public StepBatch build() {
            List<Segment> segs = new ArrayList<>(segments);
            if (n > 0) segs.add(new Segment(segmentStart, n, current));
            return new StepBatch(Arrays.copyOf(tokens, n), Arrays.copyOf(positions, n), Arrays.copyOf(sequence, n),
                    Arrays.copyOf(wantLogits, n), tables.toArray(int[][]::new), segs);
        }
    }
}
