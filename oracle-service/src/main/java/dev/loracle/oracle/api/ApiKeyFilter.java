package dev.loracle.oracle.api;

import dev.loracle.oracle.config.OracleProperties;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;

/**
 * API-key authentication: {@code /api/admin/**} needs an admin key, {@code /v1/**} a completions key (or an admin key).
 * The key comes as {@code Authorization: Bearer KEY} or {@code X-Api-Key: KEY}; compared in constant time. Read-only
 * status endpoints ({@code /api/requests}, {@code /api/runtime}) and actuator stay open, but a request that presents a
 * valid key is marked ({@link #AUTHENTICATED}) so status views can show what only key holders may see (API completions).
 */
@Component
public class ApiKeyFilter extends OncePerRequestFilter {
    /** Request attribute set to TRUE when the caller presented a valid API or admin key. */
    public static final String AUTHENTICATED = "loracle.authenticated";

    private final List<byte[]> apiKeys;
    private final List<byte[]> adminKeys;

    public ApiKeyFilter(OracleProperties props) {
        this.apiKeys = props.api().keys().stream().filter(k -> !k.isBlank()).map(k -> k.getBytes(StandardCharsets.UTF_8)).toList();
        this.adminKeys = props.api().adminKeys().stream().filter(k -> !k.isBlank()).map(k -> k.getBytes(StandardCharsets.UTF_8)).toList();
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String path = request.getRequestURI();
        boolean admin = path.startsWith("/api/admin/");
        boolean completions = path.startsWith("/v1/");
        byte[] presented = presentedKey(request);
        if (!admin && !completions) {
            if (presented != null && (matches(adminKeys, presented) || matches(apiKeys, presented))) {
                request.setAttribute(AUTHENTICATED, Boolean.TRUE);
            }
            chain.doFilter(request, response);
            return;
        }
        boolean ok = presented != null && (matches(adminKeys, presented) || (completions && matches(apiKeys, presented)));
        if (!ok) {
            response.setStatus(HttpServletResponse.SC_UNAUTHORIZED);
            response.setContentType("application/json");
            response.setHeader("WWW-Authenticate", "Bearer");
            String which = admin ? "an admin key (loracle.api.admin-keys)" : "an API key (loracle.api.keys)";
            response.getWriter().write("{\"error\":{\"message\":\"missing or invalid API key: " + which
                    + " is required as 'Authorization: Bearer KEY' or 'X-Api-Key: KEY'\",\"type\":\"authentication_error\"}}");
            return;
        }
        chain.doFilter(request, response);
    }

    private static byte[] presentedKey(HttpServletRequest request) {
        String auth = request.getHeader("Authorization");
        if (auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)) return auth.substring(7).strip().getBytes(StandardCharsets.UTF_8);
        String header = request.getHeader("X-Api-Key");
        return header == null ? null : header.strip().getBytes(StandardCharsets.UTF_8);
    }

    private static boolean matches(List<byte[]> keys, byte[] presented) {
        boolean found = false;
        for (byte[] k : keys) found |= MessageDigest.isEqual(k, presented);
        return found;
    }
}
