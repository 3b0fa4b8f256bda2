package dev.loracle.oracle.session.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loracle.ipfs.Cid;
import org.junit.jupiter.api.Test;

/** The store keeps at most its byte budget, dropping the least recently used first, and never an entry over budget. */
class SnapshotStoreTest {
    private static Cid cid(int i) {
        return Cid.ofBlock(Cid.Codec.RAW, new byte[] {(byte) i});
    }

    @Test
    void leastRecentlyUsedGoesFirstAndTooLargeIsNotKept() {
        SnapshotStore store = new SnapshotStore(300);
        store.put(cid(1), new byte[100]);
        store.put(cid(2), new byte[100]);
        store.put(cid(3), new byte[100]);
        assertThat(store.get(cid(1))).isNotNull();          // 1 is now more recent than 2
        store.put(cid(4), new byte[100]);
        assertThat(store.get(cid(2))).isNull();
        assertThat(store.get(cid(1))).isNotNull();
        assertThat(store.get(cid(3))).isNotNull();
        assertThat(store.get(cid(4))).isNotNull();
        store.put(cid(5), new byte[301]);
        assertThat(store.get(cid(5))).isNull();
        assertThat(store.get(cid(4))).as("an oversized entry evicts nothing").isNotNull();
    }
}
