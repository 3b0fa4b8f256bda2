package dev.loracle.ipfs;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.stream.Stream;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;

/**
 * Client for the Kubo HTTP RPC API ({@code POST /api/v0/<command>}), also spoken by js-ipfs.
 *
 * <p>Every call is a POST with a client-side timeout and the node-side {@code timeout=} argument: without the
 * latter a missing block makes the node wait forever. The client timeout is the node timeout plus a margin, so the
 * node's own (clearer) error normally arrives first. Node errors become {@link IpfsRpcException} carrying the
 * node's message; connection failures and client timeouts become {@link IpfsTransportException}.
 */
public final class KuboRpcClient {
    private static final ObjectMapper JSON = JsonMapper.builder().build();
    /** Extra client-side wait beyond the node-side timeout, so the node reports first. */
    private static final Duration CLIENT_MARGIN = Duration.ofSeconds(2);

    private final URI apiUrl;
    private final HttpClient http;
    private final Duration defaultTimeout;
    private volatile Boolean jsIpfs;

    public KuboRpcClient(URI apiUrl, HttpClient http, Duration defaultTimeout) {
        this.apiUrl = normalize(Objects.requireNonNull(apiUrl, "apiUrl"));
        this.http = Objects.requireNonNull(http, "http");
        this.defaultTimeout = Objects.requireNonNull(defaultTimeout, "defaultTimeout");
    }

    public KuboRpcClient(URI apiUrl, Duration defaultTimeout) {
        this(apiUrl, defaultHttpClient(), defaultTimeout);
    }

    /** A client with a 30 s default timeout, e.g. {@code KuboRpcClient.create("http://127.0.0.1:5001")}. */
    public static KuboRpcClient create(String apiUrl) {
        return new KuboRpcClient(URI.create(apiUrl), Duration.ofSeconds(30));
    }

    public static HttpClient defaultHttpClient() {
        return HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5))
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    private static URI normalize(URI uri) {
        String s = uri.toString();
        while (s.endsWith("/")) {
            s = s.substring(0, s.length() - 1);
        }
        if (s.endsWith("/api/v0")) {
            s = s.substring(0, s.length() - "/api/v0".length());
        }
        if (!s.startsWith("http://") && !s.startsWith("https://")) {
            throw new IllegalArgumentException("IPFS API URL must be http(s)://host:port, got " + uri);
        }
        return URI.create(s);
    }

    public URI apiUrl() {
        return apiUrl;
    }

    public Duration defaultTimeout() {
        return defaultTimeout;
    }

    /** The node's version string, e.g. {@code 0.29.0} (Kubo) or {@code 0.18.1} (js-ipfs core). */
    public String version() {
        JsonNode v = json("version", Map.of(), defaultTimeout);
        jsIpfs = v.has("ipfs-core");
        return v.path("Version").asString();
    }

    /** Whether the node is js-ipfs (its version answer names {@code ipfs-core}); asked once. */
    public boolean isJsIpfs() {
        Boolean known = jsIpfs;
        if (known == null) {
            version();
            known = jsIpfs;
        }
        return known;
    }

    /** Adds one file under the given name; returns its entry (the wrapper directory when wrapping). */
    public AddedEntry addFile(String name, Path file, AddOptions options) {
        List<AddedEntry> entries = add(List.of(new AddInput(name, file)), options);
        return entries.getLast();
    }

    /** Adds bytes as one file. */
    public AddedEntry addBytes(String name, byte[] content, AddOptions options) {
        List<AddedEntry> entries = addParts(List.of(Part.bytes(name, content)), options);
        return entries.getLast();
    }

    /**
     * Adds a directory tree; the entry names are relative to {@code dir}'s parent, so the last entry is {@code dir}
     * itself, unless {@code options.wrapWithDirectory()} (then the entries are relative to {@code dir} and the last
     * entry is the unnamed wrapper, i.e. the CID of a directory holding {@code dir}'s children).
     */
    public AddedEntry addDirectory(Path dir, AddOptions options) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("not a directory: " + dir);
        }
        String prefix = options.wrapWithDirectory() ? "" : dir.getFileName().toString() + "/";
        List<AddInput> inputs = new ArrayList<>();
        if (!options.wrapWithDirectory()) {
            inputs.add(new AddInput(dir.getFileName().toString(), null));
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.filter(p -> !p.equals(dir)).sorted().forEach(p -> {
                String rel = prefix + dir.relativize(p).toString().replace('\\', '/');
                inputs.add(new AddInput(rel, Files.isDirectory(p) ? null : p));
            });
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
        List<AddedEntry> entries = add(inputs, options);
        return entries.getLast();
    }

    /** A file ({@code file != null}) or directory ({@code file == null}) at {@code path} in the added tree. */
    public record AddInput(String path, Path file) {
        public AddInput {
            Objects.requireNonNull(path, "path");
        }
    }

    /** Adds files and directories in one multipart request; returns the node's entries in response order. */
    public List<AddedEntry> add(List<AddInput> inputs, AddOptions options) {
        List<Part> parts = new ArrayList<>();
        for (AddInput in : inputs) {
            parts.add(in.file() == null ? Part.directory(in.path()) : Part.file(in.path(), in.file()));
        }
        return addParts(parts, options);
    }

    private List<AddedEntry> addParts(List<Part> parts, AddOptions options) {
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("nothing to add");
        }
        Map<String, String> args = new LinkedHashMap<>();
        args.put("cid-version", Integer.toString(options.cidVersion()));
        args.put("raw-leaves", Boolean.toString(options.rawLeaves()));
        args.put("pin", Boolean.toString(options.pin()));
        args.put("only-hash", Boolean.toString(options.onlyHash()));
        args.put("wrap-with-directory", Boolean.toString(options.wrapWithDirectory()));
        args.put("progress", "false");
        if (options.chunker() != null) {
            args.put("chunker", options.chunker());
        }
        String boundary = "loracle-" + UUID.randomUUID();
        List<HttpRequest.BodyPublisher> publishers = new ArrayList<>();
        for (Part part : parts) {
            publishers.add(HttpRequest.BodyPublishers.ofString(part.header(boundary), StandardCharsets.UTF_8));
            publishers.add(part.body());
            publishers.add(HttpRequest.BodyPublishers.ofString("\r\n", StandardCharsets.UTF_8));
        }
        publishers.add(HttpRequest.BodyPublishers.ofString("--" + boundary + "--\r\n", StandardCharsets.UTF_8));
        HttpRequest.BodyPublisher body = HttpRequest.BodyPublishers.concat(publishers.toArray(HttpRequest.BodyPublisher[]::new));
        // Adding is bounded by local disk speed, not by the network: allow a generous window.
        Duration timeout = defaultTimeout.multipliedBy(4);
        HttpResponse<InputStream> response = send("add", args, timeout, body, "multipart/form-data; boundary=" + boundary);
        String text = new String(readBody("add", response), StandardCharsets.UTF_8);
        List<AddedEntry> entries = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode node = JSON.readTree(line);
            if (node.has("Message") && !node.has("Hash")) {
                throw new IpfsRpcException(apiUrl.toString(), "add", response.statusCode(), node.path("Message").asString());
            }
            entries.add(new AddedEntry(node.path("Name").asString(), Cid.parse(node.path("Hash").asString()),
                    Long.parseLong(node.path("Size").asString("0"))));
        }
        if (entries.isEmpty()) {
            throw new IpfsRpcException(apiUrl.toString(), "add", response.statusCode(), "empty add response");
        }
        return entries;
    }

    /** The bytes of a UnixFS file. Unverified: use only against a trusted node (see {@link VerifiedFetcher}). */
    public byte[] cat(Cid cid, Duration timeout) {
        return readAll("cat", send("cat", Map.of("arg", cid.toString()), timeout, null, null));
    }

    /** Streams a UnixFS file's bytes; the caller closes the stream. Unverified, as {@link #cat}. */
    public InputStream catStream(Cid cid, Duration timeout) {
        return send("cat", Map.of("arg", cid.toString()), timeout, null, null).body();
    }

    /** The raw bytes of one block (not verified here; {@link Cid#matches(byte[])} does that). */
    public byte[] blockGet(Cid cid, Duration timeout) {
        return readAll("block/get", send("block/get", Map.of("arg", cid.toString()), timeout, null, null));
    }

    /**
     * The raw bytes of one block, reading at most {@code maxBytes} of the answer: a node that sends more gets a
     * {@link ContentTooLargeException} (not verified here either).
     */
    public byte[] blockGet(Cid cid, Duration timeout, int maxBytes) {
        try (InputStream in = send("block/get", Map.of("arg", cid.toString()), timeout, null, null).body()) {
            byte[] bytes = in.readNBytes(maxBytes + 1);
            if (bytes.length > maxBytes) throw new ContentTooLargeException("block " + cid, maxBytes);
            return bytes;
        } catch (IOException e) {
            throw new IpfsTransportException("I/O error reading the block/get response from " + apiUrl + ": " + e, e);
        }
    }

    /** Stores one block as-is under the given codec (sha2-256, CIDv1); returns the CID the node reports. */
    public Cid blockPut(byte[] block, Cid.Codec codec) {
        String boundary = "loracle-" + UUID.randomUUID();
        HttpRequest.BodyPublisher body = HttpRequest.BodyPublishers.concat(
                HttpRequest.BodyPublishers.ofString(Part.bytes("block", block).header(boundary), StandardCharsets.UTF_8),
                HttpRequest.BodyPublishers.ofByteArray(block),
                HttpRequest.BodyPublishers.ofString("\r\n--" + boundary + "--\r\n", StandardCharsets.UTF_8));
        String codecName = codec == Cid.Codec.RAW ? "raw" : "dag-pb";
        Map<String, String> args = new LinkedHashMap<>();
        // Kubo reads cid-codec and rejects it together with the deprecated format; js-ipfs 0.66 ignores cid-codec
        // and needs format + version (else it answers with a CIDv0).
        if (isJsIpfs()) {
            args.put("format", codecName);
            args.put("version", "1");
        } else {
            args.put("cid-codec", codecName);
        }
        args.put("mhtype", "sha2-256");
        HttpResponse<InputStream> response = send("block/put", args, defaultTimeout, body,
                "multipart/form-data; boundary=" + boundary);
        JsonNode node = JSON.readTree(new String(readBody("block/put", response), StandardCharsets.UTF_8));
        return Cid.parse(node.path("Key").asString());
    }

    /**
     * Streams the DAG under {@code cid} as a CARv1 (root first). A node that cannot find a block within
     * {@code timeout} ends the stream early (js-ipfs reports the error only in an HTTP trailer), which the CAR
     * verifier reports as a missing block.
     */
    public InputStream dagExport(Cid cid, Duration timeout) {
        return send("dag/export", Map.of("arg", cid.toString()), timeout, null, null).body();
    }

    public void pinAdd(Cid cid, Duration timeout) {
        json("pin/add", Map.of("arg", cid.toString(), "recursive", "true"), timeout);
    }

    public void pinRm(Cid cid) {
        json("pin/rm", Map.of("arg", cid.toString(), "recursive", "true"), defaultTimeout);
    }

    /** Runs the node's garbage collector (removes unpinned blocks). */
    public void repoGc() {
        readAll("repo/gc", send("repo/gc", Map.of(), defaultTimeout.multipliedBy(4), null, null));
    }

    /** The links of a directory (or the chunks of a file). */
    public List<LsEntry> ls(Cid cid, Duration timeout) {
        JsonNode root = json("ls", Map.of("arg", cid.toString()), timeout);
        List<LsEntry> out = new ArrayList<>();
        for (JsonNode object : root.path("Objects")) {
            for (JsonNode link : object.path("Links")) {
                out.add(new LsEntry(link.path("Name").asString(), Cid.parse(link.path("Hash").asString()),
                        link.path("Size").asLong(), link.path("Type").asInt()));
            }
        }
        return out;
    }

    private JsonNode json(String command, Map<String, String> args, Duration timeout) {
        String text = new String(readAll(command, send(command, args, timeout, null, null)), StandardCharsets.UTF_8);
        return text.isBlank() ? JSON.createObjectNode() : JSON.readTree(text);
    }

    private HttpResponse<InputStream> send(String command, Map<String, String> args, Duration timeout,
                                           HttpRequest.BodyPublisher body, String contentType) {
        Map<String, String> all = new LinkedHashMap<>(args);
        all.put("timeout", timeout.toMillis() + "ms");
        StringBuilder url = new StringBuilder(apiUrl.toString()).append("/api/v0/").append(command);
        char sep = '?';
        for (Map.Entry<String, String> e : all.entrySet()) {
            url.append(sep).append(URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8))
                    .append('=').append(URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8));
            sep = '&';
        }
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url.toString()))
                .timeout(timeout.plus(CLIENT_MARGIN))
                .POST(body == null ? HttpRequest.BodyPublishers.noBody() : body);
        if (contentType != null) {
            request.header("Content-Type", contentType);
        }
        HttpResponse<InputStream> response;
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (HttpConnectTimeoutException | ConnectException e) {
            throw new IpfsTransportException("cannot connect to IPFS node " + apiUrl + " for " + command + ": " + e, e);
        } catch (HttpTimeoutException e) {
            throw new IpfsTransportException("IPFS node " + apiUrl + " did not answer " + command + " within "
                    + timeout.plus(CLIENT_MARGIN).toMillis() + " ms", e);
        } catch (IOException e) {
            throw new IpfsTransportException("I/O error calling " + command + " on IPFS node " + apiUrl + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IpfsTransportException("interrupted calling " + command + " on " + apiUrl, e);
        }
        if (response.statusCode() != 200) {
            String bodyText = new String(readBody(command, response), StandardCharsets.UTF_8);
            throw new IpfsRpcException(apiUrl.toString(), command, response.statusCode(), nodeMessage(bodyText));
        }
        return response;
    }

    private static String nodeMessage(String body) {
        String trimmed = body.strip();
        if (trimmed.startsWith("{")) {
            try {
                JsonNode node = JSON.readTree(trimmed);
                if (node.has("Message")) {
                    return node.path("Message").asString();
                }
            } catch (RuntimeException ignored) {
                // not JSON after all: fall through to the raw text
            }
        }
        return trimmed.isEmpty() ? "(empty response body)" : trimmed;
    }

    private byte[] readAll(String command, HttpResponse<InputStream> response) {
        return readBody(command, response);
    }

    private byte[] readBody(String command, HttpResponse<InputStream> response) {
        try (InputStream in = response.body()) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            in.transferTo(out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new IpfsTransportException("I/O error reading the " + command + " response from " + apiUrl + ": " + e, e);
        }
    }

    /** One multipart part of an add request. */
    private record Part(String path, String contentType, HttpRequest.BodyPublisher body) {
        static Part file(String path, Path file) {
            try {
                return new Part(path, "application/octet-stream", HttpRequest.BodyPublishers.ofFile(file));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + file, e);
            }
        }

        static Part bytes(String path, byte[] content) {
            return new Part(path, "application/octet-stream", HttpRequest.BodyPublishers.ofByteArray(content));
        }

        static Part directory(String path) {
            return new Part(path, "application/x-directory", HttpRequest.BodyPublishers.noBody());
        }

        String header(String boundary) {
            // Kubo and js-ipfs both URL-decode the filename, which is how nested paths survive the header.
            String encoded = URLEncoder.encode(path, StandardCharsets.UTF_8).replace("+", "%20");
            return "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + encoded
                    + "\"\r\nContent-Type: " + contentType + "\r\n\r\n";
        }
    }
}
