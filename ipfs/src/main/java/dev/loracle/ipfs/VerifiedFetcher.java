package dev.loracle.ipfs;

import dev.loracle.ipfs.car.CarReader;
import dev.loracle.ipfs.unixfs.DagPbNode;
import dev.loracle.ipfs.unixfs.UnixFsAssembler;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * Fetches a CID from the configured endpoints as a CAR and verifies it block by block (see {@link UnixFsAssembler})
 * before anything is visible at the target path. Endpoints marked {@link IpfsEndpoint#trustedPlainBytes()} are read
 * with {@code cat} instead (root block verified, file bytes trusted).
 */
public final class VerifiedFetcher implements AutoCloseable {
    private static final int STREAM_BUFFER = 256 * 1024;

    private final IpfsEndpoints endpoints;
    private final FetchLimits limits;
    private final HttpClient http;
    private final boolean syncWrites;
    private final List<FetchListener> listeners = new CopyOnWriteArrayList<>();
    private final Map<String, KuboRpcClient> rpcClients = new ConcurrentHashMap<>();
    private final Map<String, TrustlessGatewayClient> gatewayClients = new ConcurrentHashMap<>();
    private final AtomicLong attemptSequence = new AtomicLong();

    private VerifiedFetcher(IpfsEndpoints endpoints, FetchLimits limits, HttpClient http, boolean syncWrites) {
        this.endpoints = endpoints;
        this.limits = limits;
        this.http = http;
        this.syncWrites = syncWrites;
    }

    public static Builder builder() {
        return new Builder();
    }

    public static final class Builder {
        private IpfsEndpoints endpoints;
        private FetchLimits limits = FetchLimits.defaults();
        private HttpClient http;
        private boolean syncWrites = true;
        private final List<FetchListener> listeners = new ArrayList<>();

        /**
         * Force each fetched file to the storage device before it is moved into place (default true): the cache
         * does not re-hash disk hits, so an entry must survive a power loss intact. Off trades that for speed.
         */
        public Builder syncWrites(boolean value) {
            this.syncWrites = value;
            return this;
        }

        public Builder endpoints(IpfsEndpoints value) {
            this.endpoints = value;
            return this;
        }

        public Builder limits(FetchLimits value) {
            this.limits = Objects.requireNonNull(value);
            return this;
        }

        public Builder httpClient(HttpClient value) {
            this.http = value;
            return this;
        }

        public Builder listener(FetchListener value) {
            listeners.add(Objects.requireNonNull(value));
            return this;
        }

        public VerifiedFetcher build() {
            VerifiedFetcher f = new VerifiedFetcher(Objects.requireNonNull(endpoints, "endpoints"), limits,
                    http != null ? http : KuboRpcClient.defaultHttpClient(), syncWrites);
            f.listeners.addAll(listeners);
            return f;
        }
    }

    public void addListener(FetchListener listener) {
        listeners.add(Objects.requireNonNull(listener));
    }

    public IpfsEndpoints endpoints() {
        return endpoints;
    }

    public FetchLimits limits() {
        return limits;
    }

    /**
     * Fetches and verifies {@code cid}, then moves the result to {@code target} (a file for a file CID, a directory
     * for a directory CID). {@code target} must not exist; its parent must. Each attempt writes to a fresh sibling
     * path that is deleted on failure, so a failed fetch leaves nothing at or next to {@code target}.
     */
    public FetchResult fetch(Cid cid, Path target) {
        Objects.requireNonNull(cid, "cid");
        if (Files.exists(target)) {
            throw new IllegalArgumentException("fetch target already exists: " + target);
        }
        Path parent = target.toAbsolutePath().getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw new IllegalArgumentException("fetch target's parent directory does not exist: " + target);
        }
        long start = System.nanoTime();
        return endpoints.execute("fetch " + cid, (endpoint, attempt) -> {
            Path staging = target.resolveSibling(target.getFileName() + ".attempt-" + attemptSequence.incrementAndGet());
            long attemptStart = System.nanoTime();
            try {
                FetchResult r = fetchFrom(endpoint, cid, staging);
                if (Thread.currentThread().isInterrupted()) {
                    // The time limiter gave up on this attempt; a later attempt owns the target now.
                    throw new IpfsTransportException("attempt " + attempt + " on " + endpoint.name() + " was cancelled",
                            new InterruptedException());
                }
                if (Files.exists(target)) {
                    // An earlier, timed-out attempt finished after all; it verified the same CID, so keep its result.
                    deleteQuietly(staging);
                } else {
                    Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
                }
                FetchResult done = new FetchResult(cid, target, r.directory(), r.bytes(), r.files(), endpoint.name(),
                        r.verified(), Duration.ofNanos(System.nanoTime() - start));
                notify(cid, endpoint, attempt, r.bytes(), attemptStart, null);
                return done;
            } catch (Throwable t) {
                deleteQuietly(staging);
                notify(cid, endpoint, attempt, 0, attemptStart, t);
                throw t;
            }
        });
    }

    private void notify(Cid cid, IpfsEndpoint endpoint, int attempt, long bytes, long startNanos, Throwable error) {
        Duration elapsed = Duration.ofNanos(System.nanoTime() - startNanos);
        for (FetchListener l : listeners) {
            l.onAttempt(cid, endpoint, attempt, bytes, elapsed, error);
        }
    }

    private FetchResult fetchFrom(IpfsEndpoint endpoint, Cid cid, Path staging) throws IOException {
        Duration nodeTimeout = endpoints.settings().nodeTimeout();
        if (endpoint.trustedPlainBytes()) {
            return PlainFetch.run(rpc(endpoint), cid, staging, limits, nodeTimeout, endpoints.settings().attemptTimeout(),
                    endpoint.name());
        }
        InputStream car = switch (endpoint.kind()) {
            case RPC -> {
                // Node-side timeout= bounds the whole command, not each block. So probe the root with the short
                // node timeout (a CID nobody has fails fast), then export with the attempt's full time budget.
                byte[] root = rootBlock(rpc(endpoint), cid, nodeTimeout);
                if (!cid.matches(root)) {
                    throw new VerificationException("root block of " + cid + " from " + endpoint.name()
                            + " does not hash to its CID: tampered or corrupt data");
                }
                yield rpc(endpoint).dagExport(cid, endpoints.settings().attemptTimeout());
            }
            case TRUSTLESS_GATEWAY -> gateway(endpoint).fetchCar(cid, nodeTimeout.plus(Duration.ofSeconds(2)));
        };
        UnixFsAssembler.Result r;
        try {
            r = verifyCar(car, cid, staging, limits, syncWrites);
        } catch (EOFException e) {
            throw new IpfsTransportException("CAR stream from " + endpoint.name() + " broke off: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new IpfsTransportException("I/O error reading the CAR from " + endpoint.name() + ": " + e, e);
        }
        return new FetchResult(cid, staging, r.directory(), r.bytes(), r.files(), endpoint.name(), true, Duration.ZERO);
    }

    /**
     * Verifies a CAR stream against {@code root} and writes the content at {@code target}, without any network:
     * used by the fetcher and usable on stored CARs. Closes {@code car}. On failure the partial output at
     * {@code target} is deleted.
     */
    public static UnixFsAssembler.Result verifyCar(InputStream car, Cid root, Path target, FetchLimits limits)
            throws IOException {
        return verifyCar(car, root, target, limits, false);
    }

    private static UnixFsAssembler.Result verifyCar(InputStream car, Cid root, Path target, FetchLimits limits,
                                                    boolean sync) throws IOException {
        try (CarReader reader = new CarReader(new BufferedInputStream(car, STREAM_BUFFER), limits.maxCarBytes(),
                limits.maxBlockBytes())) {
            return UnixFsAssembler.assemble(reader, root, target, limits, sync);
        } catch (IOException | RuntimeException e) {
            deleteQuietly(target);
            throw e;
        }
    }

    /** The root block via {@code block/get}; a node that cannot find it in time means the content is not there. */
    static byte[] rootBlock(KuboRpcClient client, Cid cid, Duration timeout) {
        try {
            return client.blockGet(cid, timeout);
        } catch (IpfsRpcException e) {
            if (isNotFound(e.nodeMessage())) {
                throw new ContentNotFoundException(cid, timeout, client.apiUrl() + " answered: " + e.nodeMessage());
            }
            throw e;
        }
    }

    /** js-ipfs: "request timed out"; Kubo: "context deadline exceeded", "block was not found locally". */
    private static boolean isNotFound(String nodeMessage) {
        String m = nodeMessage.toLowerCase(java.util.Locale.ROOT);
        return m.contains("timed out") || m.contains("deadline exceeded") || m.contains("not found")
                || m.contains("could not find");
    }

    private KuboRpcClient rpc(IpfsEndpoint endpoint) {
        return rpcClients.computeIfAbsent(endpoint.name(),
                n -> new KuboRpcClient(endpoint.url(), http, endpoints.settings().nodeTimeout()));
    }

    private TrustlessGatewayClient gateway(IpfsEndpoint endpoint) {
        return gatewayClients.computeIfAbsent(endpoint.name(), n -> new TrustlessGatewayClient(endpoint.url(), http));
    }

    static void deleteQuietly(Path path) {
        if (path == null || !Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(path)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | UncheckedIOException e) {
            // best effort: a leftover staging path is ignored by the cache and removed on its next start
        }
    }

    @Override
    public void close() {
        endpoints.close();
    }

    /** The trusted-node path: the root block is verified, file bytes come from {@code cat} unverified. */
    private static final class PlainFetch {
        static FetchResult run(KuboRpcClient client, Cid cid, Path target, FetchLimits limits, Duration timeout,
                               Duration transferTimeout, String endpoint) throws IOException {
            long[] totals = new long[2];
            boolean dir = write(client, cid, target, limits, timeout, transferTimeout, 0, totals);
            return new FetchResult(cid, target, dir, totals[0], (int) totals[1], endpoint, false, Duration.ZERO);
        }

        private static boolean write(KuboRpcClient client, Cid cid, Path target, FetchLimits limits, Duration timeout,
                                     Duration transferTimeout, int depth, long[] totals) throws IOException {
            if (depth > limits.maxDepth()) {
                throw new VerificationException("directory tree under " + cid + " deeper than " + limits.maxDepth());
            }
            byte[] rootBlock = rootBlock(client, cid, timeout);
            if (!cid.matches(rootBlock)) {
                throw new VerificationException("root block of " + cid + " from the trusted node does not hash to its CID");
            }
            if (cid.codec() == Cid.Codec.RAW) {
                addBytes(totals, rootBlock.length, limits, cid);
                Files.write(target, rootBlock);
                totals[1]++;
                return false;
            }
            DagPbNode node = DagPbNode.decode(cid, rootBlock);
            switch (node.type()) {
                case FILE, RAW -> {
                    long size = node.unixFs().getFilesize();
                    addBytes(totals, size, limits, cid);
                    try (InputStream in = client.catStream(cid, transferTimeout)) {
                        long n = Files.copy(in, target);
                        if (n != size) {
                            throw new VerificationException("trusted node returned " + n + " bytes for " + cid
                                    + " whose root declares " + size);
                        }
                    }
                    totals[1]++;
                    return false;
                }
                case DIRECTORY -> {
                    Files.createDirectory(target);
                    for (DagPbNode.Link link : node.links()) {
                        UnixFsAssembler.checkName(cid, link.name());
                        write(client, link.cid(), target.resolve(link.name()), limits, timeout, transferTimeout, depth + 1, totals);
                    }
                    return true;
                }
                case HAMT_SHARD -> throw new UnsupportedContentException("directory " + cid + " is HAMT-sharded: not supported");
                default -> throw new VerificationException(cid + " is a UnixFS " + node.type() + " node, not a file or directory");
            }
        }

        private static void addBytes(long[] totals, long n, FetchLimits limits, Cid cid) {
            totals[0] += n;
            if (totals[0] > limits.maxContentBytes()) {
                throw new ContentTooLargeException("content of " + cid, limits.maxContentBytes());
            }
        }
    }
}
