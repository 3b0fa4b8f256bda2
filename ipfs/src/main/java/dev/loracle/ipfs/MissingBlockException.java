package dev.loracle.ipfs;

/**
 * The CAR ended without a block the DAG needs. From a node this means it could not find the block within its
 * timeout; from a stored CAR it means the CAR is incomplete.
 */
public class MissingBlockException extends ContentNotFoundException {
    private final Cid missing;

    public MissingBlockException(Cid root, Cid missing, String detail) {
        super(root, "block " + missing + (missing.equals(root) ? " (the root)" : "") + " is missing: " + detail);
        this.missing = missing;
    }

    public Cid missingBlock() {
        return missing;
    }
}
