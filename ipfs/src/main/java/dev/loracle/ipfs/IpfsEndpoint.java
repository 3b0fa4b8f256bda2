package dev.loracle.ipfs;

import java.net.URI;
import java.util.Objects;

/**
 * One place content can be fetched from.
 *
 * @param name              label used in metrics, breaker names and errors
 * @param url               base URL: the RPC API ({@code http://127.0.0.1:5001}) or a gateway ({@code https://host})
 * @param kind              {@link Kind#RPC}: CAR via {@code POST /api/v0/dag/export}; {@link Kind#TRUSTLESS_GATEWAY}:
 *                          CAR via {@code GET /ipfs/{cid}?format=car} (Kubo and public trustless gateways)
 * @param trustedPlainBytes operator's statement that this RPC node is trusted (e.g. the oracle's own Kubo): file
 *                          bytes then come from {@code cat} without per-block hash checks; only the root block is
 *                          verified. Never set this for a node you do not run.
 */
public record IpfsEndpoint(String name, URI url, Kind kind, boolean trustedPlainBytes) {
    public enum Kind { RPC, TRUSTLESS_GATEWAY }

    public IpfsEndpoint {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(url, "url");
        Objects.requireNonNull(kind, "kind");
        if (trustedPlainBytes && kind != Kind.RPC) {
            throw new IllegalArgumentException("trustedPlainBytes applies to RPC endpoints only (endpoint " + name + ")");
        }
    }

    public static IpfsEndpoint rpc(String name, URI apiUrl) {
        return new IpfsEndpoint(name, apiUrl, Kind.RPC, false);
    }

    public static IpfsEndpoint gateway(String name, URI gatewayUrl) {
        return new IpfsEndpoint(name, gatewayUrl, Kind.TRUSTLESS_GATEWAY, false);
    }

    /** The same endpoint, marked trusted for unverified {@code cat} reads. */
    public IpfsEndpoint trusted() {
        return new IpfsEndpoint(name, url, kind, true);
    }
}
