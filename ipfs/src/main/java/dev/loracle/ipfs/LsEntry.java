package dev.loracle.ipfs;

/** A link listed by {@code ls}: entry name, target CID, size, UnixFS type code (1 directory, 2 file). */
public record LsEntry(String name, Cid cid, long size, int type) {
    public boolean isDirectory() {
        return type == 1;
    }
}
