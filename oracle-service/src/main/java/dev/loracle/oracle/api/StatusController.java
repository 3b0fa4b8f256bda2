package dev.loracle.oracle.api;

import jakarta.servlet.http.HttpServletRequest;

import dev.loracle.ipfs.CacheStats;
import dev.loracle.oracle.journal.RequestJournal;
import dev.loracle.oracle.journal.RequestState;
import dev.loracle.oracle.pipeline.AdapterService;
import dev.loracle.oracle.pipeline.RequestPipeline;
import dev.loracle.oracle.runtime.RuntimeService;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Read-only status: requests from the journal and the runtime's residency. On-chain requests are public data and shown
 * to anyone; completions submitted through the API (which needed a key) are shown only to callers with a key.
 */
@RestController
@RequestMapping("/api")
public class StatusController {
    private final RequestJournal journal;
    private final RuntimeService runtime;
    private final RequestPipeline pipeline;
    private final AdapterService adapters;

    public StatusController(RequestJournal journal, RuntimeService runtime, RequestPipeline pipeline, AdapterService adapters) {
        this.journal = journal;
        this.runtime = runtime;
        this.pipeline = pipeline;
        this.adapters = adapters;
    }

    @GetMapping("/requests/{id}")
    public RequestView request(@PathVariable String id, HttpServletRequest http) {
        String key = id.startsWith("cmpl-") ? id : normaliseChainId(id);
        return journal.find(key).filter(e -> visible(e, http)).map(RequestView::of)
                .orElseThrow(() -> new ResponseStatusException(HttpStatus.NOT_FOUND, "no request " + id + " in the journal"
                        + (id.startsWith("cmpl-") && !authenticated(http) ? " (API completions need an API key)" : "")));
    }

    @GetMapping("/requests")
    public List<RequestView> requests(@RequestParam(required = false) String state,
                                      @RequestParam(defaultValue = "100") int limit, HttpServletRequest http) {
        if (limit < 1 || limit > 1000) throw new ResponseStatusException(HttpStatus.BAD_REQUEST, "limit must be in 1..1000");
        if (state == null || state.isBlank()) {
            return journal.recent(limit).stream().filter(e -> visible(e, http)).map(RequestView::of).toList();
        }
        RequestState s;
        try {
            s = RequestState.valueOf(state.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new ResponseStatusException(HttpStatus.BAD_REQUEST, "unknown state '" + state + "'; one of " + Arrays.toString(RequestState.values()));
        }
        return journal.findByStates(limit, s).stream().filter(e -> visible(e, http)).map(RequestView::of).toList();
    }

    private static boolean authenticated(HttpServletRequest http) {
        return Boolean.TRUE.equals(http.getAttribute(ApiKeyFilter.AUTHENTICATED));
    }

    private static boolean visible(dev.loracle.oracle.journal.JournalEntry e, HttpServletRequest http) {
        return e.spec().origin() == dev.loracle.oracle.journal.RequestOrigin.CHAIN || authenticated(http);
    }

    /** Base model, resident adapters, memory against the red line, backend, and the scheduler's load. */
    public record RuntimeView(String backend, String model, long baseBytes, long usedBytes, long redLineBytes,
                              int residentAdapters, List<String> adaptersResident, int residentUsers, String attachMode,
                              int queueDepth, int inFlight, boolean accepting, CacheStats adapterCache) {
    }

    @GetMapping("/runtime")
    public RuntimeView runtime() {
        RuntimeService.Status s = runtime.status();
        return new RuntimeView(s.backend(), s.model(), s.baseBytes(), s.usedBytes(), s.redLineBytes(), s.residentAdapters(),
                s.residentAdapterCids(), s.residentUsers(), s.attachMode(), pipeline.queueDepth(), pipeline.inFlight(),
                pipeline.accepting(), adapters.cache().stats());
    }

    /** Accepts a decimal request id or 0x-hex (any length up to 32 bytes). */
    static String normaliseChainId(String id) {
        try {
            java.math.BigInteger v = id.startsWith("0x") ? new java.math.BigInteger(id.substring(2), 16) : new java.math.BigInteger(id);
            return dev.loracle.oracle.journal.InferenceSpec.chainId(v);
        } catch (NumberFormatException e) {
            throw new ResponseStatusException(HttpStatus.BAD_REQUEST, "request id must be decimal, 0x-hex or cmpl-...");
        }
    }
}
