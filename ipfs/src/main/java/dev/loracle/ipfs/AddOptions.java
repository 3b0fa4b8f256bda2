package dev.loracle.ipfs;

/**
 * Options of the RPC {@code add} call. Defaults: CIDv1 with raw leaves, pinned, stored (not only-hash),
 * not wrapped, the node's default chunker (Kubo and js-ipfs: size-262144).
 */
public record AddOptions(int cidVersion, boolean rawLeaves, boolean pin, boolean onlyHash,
                         boolean wrapWithDirectory, String chunker) {
    public AddOptions {
        if (cidVersion != 0 && cidVersion != 1) {
            throw new IllegalArgumentException("cidVersion must be 0 or 1, got " + cidVersion);
        }
        if (cidVersion == 0 && rawLeaves) {
            throw new IllegalArgumentException("CIDv0 cannot address raw leaves; use rawLeaves=false with cidVersion 0");
        }
    }

    public static AddOptions defaults() {
        return new AddOptions(1, true, true, false, false, null);
    }

    /** Kubo's legacy defaults: CIDv0, dag-pb leaves. */
    public static AddOptions cidV0() {
        return new AddOptions(0, false, true, false, false, null);
    }

    public AddOptions withPin(boolean value) {
        return new AddOptions(cidVersion, rawLeaves, value, onlyHash, wrapWithDirectory, chunker);
    }

    public AddOptions withOnlyHash(boolean value) {
        return new AddOptions(cidVersion, rawLeaves, pin, value, wrapWithDirectory, chunker);
    }

    public AddOptions withWrapWithDirectory(boolean value) {
        return new AddOptions(cidVersion, rawLeaves, pin, onlyHash, value, chunker);
    }

    public AddOptions withChunker(String value) {
        return new AddOptions(cidVersion, rawLeaves, pin, onlyHash, wrapWithDirectory, value);
    }
}
