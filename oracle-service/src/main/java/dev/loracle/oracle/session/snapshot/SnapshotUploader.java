package dev.loracle.oracle.session.snapshot;

import dev.loracle.ipfs.Cid;
import dev.loracle.ipfs.KuboRpcClient;
import dev.loracle.ipfs.unixfs.RawLeafFile;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stores published snapshots' blocks on IPFS in the background, one at a time, from a bounded queue: the fulfilment
 * never waits for it. The first node (in configured order) that takes every block wins. A full queue, an unreachable
 * node or a node that files a block under another CID is logged and counted, nothing more: the next node to serve the
 * session then recomputes.
 */
final class SnapshotUploader implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SnapshotUploader.class);

    private final List<KuboRpcClient> nodes;
    private final SnapshotMetrics metrics;
    private final ThreadPoolExecutor executor;
    private int pending; // guarded by this: queued or running uploads

    SnapshotUploader(List<KuboRpcClient> nodes, int queueCapacity, SnapshotMetrics metrics) {
        this.nodes = List.copyOf(nodes);
        this.metrics = metrics;
        this.executor = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(queueCapacity),
                Thread.ofPlatform().daemon().name("snapshot-upload").factory());
    }

    void submit(RawLeafFile file) {
        synchronized (this) {
            pending++;
        }
        try {
            executor.execute(() -> {
                try {
                    upload(file);
                } finally {
                    done();
                }
            });
        } catch (RejectedExecutionException e) {
            done();
            metrics.uploadFailed.increment();
            log.warn("KV snapshot {} not uploaded: the upload queue is full ({} waiting)", file.cid(), executor.getQueue().size());
        }
    }

    private void upload(RawLeafFile file) {
        RuntimeException last = null;
        for (KuboRpcClient node : nodes) {
            try {
                for (RawLeafFile.Block b : file.blocks()) {
                    Cid stored = node.blockPut(b.bytes(), b.cid().codec());
                    if (!stored.equals(b.cid())) {
                        throw new IllegalStateException("the node filed a block under " + stored + ", not " + b.cid());
                    }
                }
                metrics.uploaded.increment();
                return;
            } catch (RuntimeException e) {
                last = e;
            }
        }
        metrics.uploadFailed.increment();
        log.warn("KV snapshot {} not uploaded to IPFS (the next node serving the session recomputes): {}", file.cid(),
                last == null ? "no node" : last.getMessage());
    }

    private synchronized void done() {
        pending--;
        notifyAll();
    }

    /** Waits until every queued upload has finished or {@code timeout} passed; true when none is left. */
    synchronized boolean awaitIdle(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (pending > 0) {
            long left = deadline - System.nanoTime();
            if (left <= 0) return false;
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return true;
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
