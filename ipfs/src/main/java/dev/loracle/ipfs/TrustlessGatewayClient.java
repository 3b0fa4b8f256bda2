package dev.loracle.ipfs;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * Reads CARs from a trustless gateway (IPFS Trustless Gateway spec): {@code GET /ipfs/{cid}?format=car} with
 * {@code Accept: application/vnd.ipld.car}. Kubo's gateway and public trustless gateways serve this; js-ipfs does not.
 */
public final class TrustlessGatewayClient {
    static final String CAR_MEDIA_TYPE = "application/vnd.ipld.car";

    private final URI baseUrl;
    private final HttpClient http;

    public TrustlessGatewayClient(URI baseUrl, HttpClient http) {
        String s = baseUrl.toString();
        this.baseUrl = URI.create(s.endsWith("/") ? s.substring(0, s.length() - 1) : s);
        this.http = http;
    }

    /** Streams the whole DAG under {@code cid} as a CARv1 in depth-first order; the caller closes the stream. */
    public InputStream fetchCar(Cid cid, Duration timeout) {
        URI uri = URI.create(baseUrl + "/ipfs/" + cid + "?format=car&dag-scope=all");
        HttpRequest request = HttpRequest.newBuilder(uri)
                .timeout(timeout)
                .header("Accept", CAR_MEDIA_TYPE + "; version=1; order=dfs; dups=n")
                .GET()
                .build();
        HttpResponse<InputStream> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        } catch (ConnectException e) {
            throw new IpfsTransportException("cannot connect to gateway " + baseUrl + ": " + e, e);
        } catch (HttpTimeoutException e) {
            throw new IpfsTransportException("gateway " + baseUrl + " did not answer within " + timeout.toMillis() + " ms", e);
        } catch (IOException e) {
            throw new IpfsTransportException("I/O error fetching " + uri + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IpfsTransportException("interrupted fetching " + uri, e);
        }
        int status = response.statusCode();
        if (status == 200) {
            String type = response.headers().firstValue("Content-Type").orElse("");
            if (!type.startsWith(CAR_MEDIA_TYPE)) {
                close(response.body());
                throw new IpfsRpcException(baseUrl.toString(), "GET /ipfs/" + cid, status,
                        "gateway answered with Content-Type '" + type + "', not a CAR: it is not a trustless gateway");
            }
            return response.body();
        }
        String message;
        try (InputStream body = response.body()) {
            message = new String(body.readNBytes(2048), StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            message = "(unreadable body)";
        }
        if (status == 404 || status == 410) {
            throw new ContentNotFoundException(cid, "gateway " + baseUrl + " answered " + status + ": " + message);
        }
        throw new IpfsRpcException(baseUrl.toString(), "GET /ipfs/" + cid, status, message);
    }

    private static void close(InputStream in) {
        try {
            in.close();
        } catch (IOException ignored) {
            // nothing to do: the response is abandoned anyway
        }
    }
}
