package dev.loracle.ipfs;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Pins an adapter on a Kubo node once it has been requested a number of times, so that the node's garbage collection
 * keeps the hot ones. Pinning runs in the background; a failed pin is logged and tried again at the next request.
 */
final class HotAdapterPinner implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(HotAdapterPinner.class.getName());

    private final KuboRpcClient client;
    private final int afterRequests;
    private final Map<Cid, AtomicLong> requests = new ConcurrentHashMap<>();
    private final Set<Cid> pinned = ConcurrentHashMap.newKeySet();
    private final LongAdder pins = new LongAdder();
    private final ExecutorService background = Executors.newVirtualThreadPerTaskExecutor();

    HotAdapterPinner(KuboRpcClient client, int afterRequests) {
        this.client = client;
        this.afterRequests = afterRequests;
    }

    /** Counts one request for {@code key}; the one that reaches the threshold starts the pin. */
    void requested(Cid key) {
        if (pinned.contains(key)) {
            return;
        }
        long n = requests.computeIfAbsent(key, k -> new AtomicLong()).incrementAndGet();
        if (n >= afterRequests && pinned.add(key)) {
            background.submit(() -> {
                try {
                    client.pinAdd(key, Duration.ofSeconds(30));
                    pins.increment();
                } catch (IpfsException e) {
                    pinned.remove(key);
                    LOG.log(System.Logger.Level.WARNING, "pinning hot adapter " + key + " failed: " + e.getMessage());
                }
            });
        }
    }

    /** Pins that succeeded. */
    long pins() {
        return pins.sum();
    }

    @Override
    public void close() {
        background.shutdown();
    }
}
