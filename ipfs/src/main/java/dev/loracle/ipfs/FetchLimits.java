package dev.loracle.ipfs;

/**
 * Bounds applied while verifying fetched content.
 *
 * @param maxContentBytes total bytes of the reassembled file(s)
 * @param maxBlockBytes   largest single block accepted (UnixFS chunks are 256 KiB by default; Kubo caps at 2 MiB)
 * @param maxDepth        deepest DAG accepted (a 16 MiB file is 2 levels deep; directories add one per level)
 * @param maxEntries      most files + directories in one fetched tree
 */
public record FetchLimits(long maxContentBytes, int maxBlockBytes, int maxDepth, int maxEntries) {
    public FetchLimits {
        if (maxContentBytes <= 0 || maxBlockBytes <= 0 || maxDepth <= 0 || maxEntries <= 0) {
            throw new IllegalArgumentException("fetch limits must be positive");
        }
    }

    /** 1 GiB content, 4 MiB blocks, depth 32, 10 000 entries. */
    public static FetchLimits defaults() {
        return new FetchLimits(1L << 30, 4 << 20, 32, 10_000);
    }

    public static FetchLimits ofMaxContentBytes(long maxContentBytes) {
        FetchLimits d = defaults();
        return new FetchLimits(maxContentBytes, d.maxBlockBytes(), d.maxDepth(), d.maxEntries());
    }

    /** CAR framing and DAG nodes add a little over the content; anything beyond this is rejected while streaming. */
    public long maxCarBytes() {
        long overhead = Math.max(1L << 20, maxContentBytes / 16);
        return maxContentBytes > Long.MAX_VALUE - overhead ? Long.MAX_VALUE : maxContentBytes + overhead;
    }
}
