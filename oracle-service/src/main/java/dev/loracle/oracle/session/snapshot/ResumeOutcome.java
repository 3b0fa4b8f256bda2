package dev.loracle.oracle.session.snapshot;

/** Where a turn's history prefix came from, and how many positions of it are resident in the prefix cache. */
public record ResumeOutcome(Source source, int positions, String detail) {
    public enum Source { PREFIX_CACHE, SNAPSHOT, RECOMPUTE }
}
