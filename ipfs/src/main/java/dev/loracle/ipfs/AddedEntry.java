package dev.loracle.ipfs;

/** One line of the {@code add} response: the entry's path as sent, its CID and the node's size figure. */
public record AddedEntry(String name, Cid cid, long size) {
}
