package dev.loracle.oracle.session.snapshot;

import dev.loracle.ipfs.Cid;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Encoded snapshots this node published or fetched and verified, by CID (content-addressed, so never stale), least
 * recently used dropped first beyond {@code maxBytes}: a link already here is not fetched again.
 */
final class SnapshotStore {
    private final long maxBytes;
    private final LinkedHashMap<Cid, byte[]> entries = new LinkedHashMap<>(16, 0.75f, true);
    private long bytes;

    SnapshotStore(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    synchronized byte[] get(Cid cid) {
        return entries.get(cid);
    }

    synchronized void put(Cid cid, byte[] content) {
        if (content.length > maxBytes) return;
        byte[] old = entries.put(cid, content);
        if (old != null) bytes -= old.length;
        bytes += content.length;
        Iterator<Map.Entry<Cid, byte[]>> it = entries.entrySet().iterator();
        while (bytes > maxBytes && it.hasNext()) {
            Map.Entry<Cid, byte[]> e = it.next();
            if (e.getKey().equals(cid)) continue;
            bytes -= e.getValue().length;
            it.remove();
        }
    }
}
