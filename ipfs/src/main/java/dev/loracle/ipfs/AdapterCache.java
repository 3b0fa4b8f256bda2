package dev.loracle.ipfs;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Stream;

/**
 * Verified adapters by CID, in three tiers: a bounded in-memory tier of hot small adapters (Caffeine, weighed in
 * bytes), a content-addressed disk tier ({@code <directory>/<cidv1>}, LRU-evicted by bytes), and the network via a
 * {@link VerifiedFetcher}. Concurrent requests for one CID share one fetch (single-flight). Entries appear on disk
 * only by an atomic rename after full verification, so the disk tier never holds partial content; disk hits are
 * therefore served without re-hashing.
 *
 * <p>Eviction deletes an entry's files; callers should read an adapter soon after {@link #get} (or use
 * {@link FetchedContent#read}) and size the disk budget to hold the working set.
 */
public final class AdapterCache implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(AdapterCache.class.getName());

    private record MemoryEntry(CacheDirectory.Entry disk, Map<String, byte[]> files) {
        int weight() {
            long w = 64;
            for (byte[] b : files.values()) {
                w += b.length + 64;
            }
            return (int) Math.min(Integer.MAX_VALUE, w);
        }
    }

    private final CacheDirectory directory;
    private final long maxDiskBytes;
    private final long maxMemoryEntryBytes;
    private final VerifiedFetcher fetcher;
    private final HotAdapterPinner pinner; // null: no pinning
    private final Cache<Cid, MemoryEntry> memory;
    /** Disk index in access order (eldest first); guarded by {@code this}. */
    private final LinkedHashMap<Cid, CacheDirectory.Entry> disk = new LinkedHashMap<>(16, 0.75f, true);
    private long diskBytes;
    private final Map<Cid, CompletableFuture<FetchedContent>> inFlight = new ConcurrentHashMap<>();

    private final LongAdder memoryHits = new LongAdder();
    private final LongAdder diskHits = new LongAdder();
    private final LongAdder misses = new LongAdder();
    private final LongAdder coalesced = new LongAdder();
    private final LongAdder fetchFailures = new LongAdder();
    private final LongAdder evictions = new LongAdder();
    private final LongAdder bytesFetched = new LongAdder();
    private final LongAdder fetchNanos = new LongAdder();
    private final AtomicLong fetchNanosMax = new AtomicLong();

    private AdapterCache(Builder b) {
        this.directory = new CacheDirectory(b.directory);
        this.maxDiskBytes = b.maxDiskBytes;
        this.maxMemoryEntryBytes = b.maxMemoryEntryBytes >= 0 ? b.maxMemoryEntryBytes : b.maxMemoryBytes / 4;
        this.fetcher = b.fetcher;
        this.pinner = b.pinClient == null ? null : new HotAdapterPinner(b.pinClient, b.pinAfterHits);
        this.memory = Caffeine.newBuilder()
                .maximumWeight(b.maxMemoryBytes)
                .<Cid, MemoryEntry>weigher((k, v) -> v.weight())
                .build();
        for (CacheDirectory.Entry e : directory.scan()) {
            disk.put(e.cid(), e);
            diskBytes += e.bytes();
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    public static final class Builder {
        private Path directory;
        private long maxDiskBytes = 10L << 30;
        private long maxMemoryBytes = 256L << 20;
        private long maxMemoryEntryBytes = -1;
        private VerifiedFetcher fetcher;
        private KuboRpcClient pinClient;
        private int pinAfterHits;

        /** Where content lives: {@code <directory>/<cidv1>}; created if missing. */
        public Builder directory(Path value) {
            this.directory = value;
            return this;
        }

        /** Disk budget in content bytes (default 10 GiB); least recently used entries are evicted beyond it. */
        public Builder maxDiskBytes(long value) {
            this.maxDiskBytes = positive(value, "maxDiskBytes");
            return this;
        }

        /** In-memory tier budget (default 256 MiB); 0 disables the tier. */
        public Builder maxMemoryBytes(long value) {
            if (value < 0) {
                throw new IllegalArgumentException("maxMemoryBytes must be >= 0");
            }
            this.maxMemoryBytes = value;
            return this;
        }

        /** Largest adapter kept in memory (default a quarter of the memory budget). */
        public Builder maxMemoryEntryBytes(long value) {
            this.maxMemoryEntryBytes = value;
            return this;
        }

        public Builder fetcher(VerifiedFetcher value) {
            this.fetcher = value;
            return this;
        }

        /** Pins an adapter on {@code client}'s node once it has been requested {@code afterHits} times (hot adapters). */
        public Builder pinHotAdapters(KuboRpcClient client, int afterHits) {
            if (afterHits < 1) {
                throw new IllegalArgumentException("afterHits must be >= 1");
            }
            this.pinClient = Objects.requireNonNull(client);
            this.pinAfterHits = afterHits;
            return this;
        }

        public AdapterCache build() {
            Objects.requireNonNull(directory, "directory");
            Objects.requireNonNull(fetcher, "fetcher");
            return new AdapterCache(this);
        }

        private static long positive(long v, String name) {
            if (v <= 0) {
                throw new IllegalArgumentException(name + " must be positive");
            }
            return v;
        }
    }

    public Path directory() {
        return directory.root();
    }

    /**
     * The verified content of {@code cid}: from memory, disk, or a network fetch (one per CID at a time, however many
     * callers ask). Blocks until available.
     *
     * @throws ContentNotFoundException no endpoint had the content in time
     * @throws VerificationException    the content failed verification on every endpoint that served it
     * @throws IpfsException            any other failure (all endpoints unavailable, too large, unsupported)
     */
    public FetchedContent get(Cid cid) {
        Cid key = Objects.requireNonNull(cid, "cid").toV1();
        Optional<FetchedContent> cached = lookup(key);
        if (cached.isPresent()) {
            countRequest(key);
            return cached.get();
        }
        CompletableFuture<FetchedContent> mine = new CompletableFuture<>();
        CompletableFuture<FetchedContent> running = inFlight.putIfAbsent(key, mine);
        if (running != null) {
            coalesced.increment();
            return join(running);
        }
        try {
            // Another caller may have finished between the lookup and claiming the flight.
            Optional<FetchedContent> raced = lookup(key);
            if (raced.isPresent()) {
                countRequest(key);
                mine.complete(raced.get());
                return raced.get();
            }
            FetchedContent fetched = fetchIntoCache(cid, key);
            mine.complete(fetched);
            countRequest(key);
            return fetched;
        } catch (RuntimeException | Error e) {
            mine.completeExceptionally(e);
            throw e;
        } finally {
            inFlight.remove(key, mine);
        }
    }

    /** The content if it is cached (memory or disk), without any network access. */
    public Optional<FetchedContent> getIfCached(Cid cid) {
        return lookup(cid.toV1());
    }

    public boolean contains(Cid cid) {
        synchronized (this) {
            return disk.containsKey(cid.toV1());
        }
    }

    /** Removes an entry from both tiers (and its files). */
    public void evict(Cid cid) {
        CacheDirectory.Entry removed;
        synchronized (this) {
            removed = disk.remove(cid.toV1());
            if (removed != null) {
                diskBytes -= removed.bytes();
            }
        }
        memory.invalidate(cid.toV1());
        if (removed != null) {
            deleteEntry(removed);
        }
    }

    public CacheStats stats() {
        long diskNow;
        int entries;
        synchronized (this) {
            diskNow = diskBytes;
            entries = disk.size();
        }
        long mem = memory.asMap().values().stream().mapToLong(MemoryEntry::weight).sum();
        return new CacheStats(memoryHits.sum() + diskHits.sum(), memoryHits.sum(), diskHits.sum(), misses.sum(),
                coalesced.sum(), fetchFailures.sum(), evictions.sum(), bytesFetched.sum(), diskNow, entries, mem,
                memory.estimatedSize(), pinner == null ? 0 : pinner.pins(), Duration.ofNanos(fetchNanos.sum()), Duration.ofNanos(fetchNanosMax.get()));
    }

    private Optional<FetchedContent> lookup(Cid key) {
        MemoryEntry hot = memory.getIfPresent(key);
        if (hot != null) {
            synchronized (this) {
                disk.get(key); // keep disk recency in step with use
            }
            memoryHits.increment();
            return Optional.of(content(hot.disk(), FetchedContent.Source.MEMORY, hot.files()));
        }
        CacheDirectory.Entry entry;
        synchronized (this) {
            entry = disk.get(key);
        }
        if (entry == null) {
            return Optional.empty();
        }
        diskHits.increment();
        CacheDirectory.touch(entry);
        MemoryEntry promoted = promote(entry);
        return Optional.of(content(entry, FetchedContent.Source.DISK, promoted == null ? null : promoted.files()));
    }

    private FetchedContent fetchIntoCache(Cid cid, Cid key) {
        misses.increment();
        Path target = directory.pathOf(key);
        long start = System.nanoTime();
        FetchResult result;
        try {
            if (Files.exists(target)) {
                // Not in the index but present: a leftover from outside this cache's control; replace it.
                VerifiedFetcher.deleteQuietly(target);
            }
            result = fetcher.fetch(cid, target);
        } catch (RuntimeException e) {
            fetchFailures.increment();
            throw e;
        }
        long nanos = System.nanoTime() - start;
        fetchNanos.add(nanos);
        fetchNanosMax.accumulateAndGet(nanos, Math::max);
        bytesFetched.add(result.bytes());
        CacheDirectory.Entry entry = new CacheDirectory.Entry(key, target, result.directory(), result.bytes());
        List<CacheDirectory.Entry> evicted;
        synchronized (this) {
            disk.put(key, entry);
            diskBytes += entry.bytes();
            evicted = evictOverBudget(key);
        }
        evicted.forEach(this::deleteEntry);
        MemoryEntry promoted = promote(entry);
        return content(entry, FetchedContent.Source.NETWORK, promoted == null ? null : promoted.files());
    }

    /** Removes least recently used entries (never {@code keep}) until the disk tier fits its budget. */
    private List<CacheDirectory.Entry> evictOverBudget(Cid keep) {
        List<CacheDirectory.Entry> out = new ArrayList<>();
        Iterator<Map.Entry<Cid, CacheDirectory.Entry>> it = disk.entrySet().iterator();
        while (diskBytes > maxDiskBytes && it.hasNext()) {
            Map.Entry<Cid, CacheDirectory.Entry> eldest = it.next();
            if (eldest.getKey().equals(keep) || inFlight.containsKey(eldest.getKey())) {
                continue;
            }
            it.remove();
            diskBytes -= eldest.getValue().bytes();
            out.add(eldest.getValue());
        }
        return out;
    }

    private void deleteEntry(CacheDirectory.Entry entry) {
        memory.invalidate(entry.cid());
        evictions.increment();
        directory.delete(entry);
    }

    /** Loads a small entry's files into the memory tier; null when the entry is too big or the tier is disabled. */
    private MemoryEntry promote(CacheDirectory.Entry entry) {
        if (entry.bytes() > maxMemoryEntryBytes) {
            return null;
        }
        MemoryEntry existing = memory.getIfPresent(entry.cid());
        if (existing != null) {
            return existing;
        }
        Map<String, byte[]> files = new HashMap<>();
        try {
            if (entry.directory()) {
                try (Stream<Path> walk = Files.walk(entry.path())) {
                    for (Path p : walk.filter(Files::isRegularFile).toList()) {
                        files.put(entry.path().relativize(p).toString().replace('\\', '/'), Files.readAllBytes(p));
                    }
                }
            } else {
                files.put("", Files.readAllBytes(entry.path()));
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot load " + entry.path() + " into memory: " + e);
            return null;
        }
        MemoryEntry hot = new MemoryEntry(entry, Map.copyOf(files));
        memory.put(entry.cid(), hot);
        return hot;
    }

    private FetchedContent content(CacheDirectory.Entry e, FetchedContent.Source source, Map<String, byte[]> files) {
        return new FetchedContent(e.cid(), e.path(), e.directory(), e.bytes(), source, files);
    }

    private void countRequest(Cid key) {
        if (pinner != null) {
            pinner.requested(key);
        }
    }

    private static FetchedContent join(CompletableFuture<FetchedContent> running) {
        try {
            return running.join().withSource(FetchedContent.Source.NETWORK);
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw e;
        }
    }

    @Override
    public void close() {
        if (pinner != null) {
            pinner.close();
        }
    }
}
