package dev.loracle.ipfs.car;

import dev.loracle.ipfs.Cid;

/** One block of a CAR whose bytes were checked to hash to {@code cid}. */
public record CarBlock(Cid cid, byte[] data) {
}
