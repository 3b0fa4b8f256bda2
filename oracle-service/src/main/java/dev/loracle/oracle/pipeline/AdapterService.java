package dev.loracle.oracle.pipeline;

import dev.loracle.contracts.FailureCode;
import dev.loracle.ipfs.AdapterCache;
import dev.loracle.ipfs.Cid;
import dev.loracle.ipfs.ContentNotFoundException;
import dev.loracle.ipfs.ContentTooLargeException;
import dev.loracle.ipfs.FetchedContent;
import dev.loracle.ipfs.IpfsException;
import dev.loracle.ipfs.IpfsRpcException;
import dev.loracle.ipfs.IpfsTransportException;
import dev.loracle.ipfs.IpfsUnavailableException;
import dev.loracle.ipfs.VerificationException;
import dev.loracle.oracle.journal.AdapterSpec;
import dev.loracle.oracle.journal.InferenceSpec;
import dev.loracle.runtime.lora.AdapterValidationException;
import dev.loracle.runtime.lora.LoadOptions;
import dev.loracle.runtime.lora.LoraAdapter;
import dev.loracle.runtime.lora.ModelShape;
import dev.loracle.runtime.lora.PeftAdapter;
import dev.loracle.runtime.lora.WeightedAdapter;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Turns a request's adapter list into validated runtime adapters: CID parsing, verified fetch through the IPFS adapter
 * cache, PEFT parsing and shape validation, each failure mapped to the precise on-chain failure code. An outage of this
 * node's IPFS access is not a failure of the request: it surfaces as {@link AdaptersUnavailableException} (retried).
 * A CID is fetched and parsed once however many requests name it at the same time (single flight), and parsed adapters
 * are kept in an LRU bounded in bytes, accounted in a host budget of its own ({@link ParsedAdapterCache}), so warm
 * requests skip parsing.
 */
public class AdapterService {
    private static final Logger log = LoggerFactory.getLogger(AdapterService.class);

    private final AdapterCache cache;
    private final ModelShape shape;
    private final LoadOptions loadOptions;
    private final long maxAdapterBytes;
    private final MeterRegistry meters;
    private final ParsedAdapterCache parsed;
    private final Map<String, CompletableFuture<LoraAdapter>> loading = new ConcurrentHashMap<>();

    /**
     * @param loadOptions    how PEFT files are read for this base ({@code engine.adapterLoadOptions()}: Q/K rows permuted
     *                       where the base's converter permuted them, e.g. HF-converted llama GGUFs)
     * @param maxParsedBytes bytes of parsed adapters kept for reuse (least recently used dropped first): the red line
     *                       of the cache's own host budget ({@link ParsedAdapterCache})
     */
    public AdapterService(AdapterCache cache, ModelShape shape, LoadOptions loadOptions, long maxAdapterBytes, long maxParsedBytes,
                          MeterRegistry meters) {
        this.cache = cache;
        this.shape = shape;
        this.loadOptions = loadOptions;
        this.maxAdapterBytes = maxAdapterBytes;
        this.parsed = new ParsedAdapterCache(maxParsedBytes);
        this.meters = meters;
        meters.gauge("loracle.adapters.parsed.bytes", parsed, ParsedAdapterCache::bytes);
        meters.gauge("loracle.adapters.parsed.redline.bytes", parsed, c -> c.budget().redLine());
    }

    /** Bytes of parsed adapters held for reuse. */
    public long parsedBytes() {
        return parsed.bytes();
    }

    /** The parsed-adapter cache and its host budget (for health and metrics). */
    public ParsedAdapterCache parsedCache() {
        return parsed;
    }

    /** Fetches and parses a CID ahead of any request (pinned / pre-warmed adapters); throws what a request would. */
    public LoraAdapter prewarm(String cid) {
        return adapter(Cid.parse(cid), 0);
    }

    public AdapterCache cache() {
        return cache;
    }

    /** Parses every CID first (a bad CID fails the request before any fetch), then fetches and validates in order. */
    public List<WeightedAdapter> load(InferenceSpec spec) {
        List<Cid> cids = new ArrayList<>();
        for (int i = 0; i < spec.adapters().size(); i++) {
            cids.add(parseCid(spec.adapters().get(i), i));
        }
        List<WeightedAdapter> out = new ArrayList<>();
        for (int i = 0; i < cids.size(); i++) {
            out.add(new WeightedAdapter(adapter(cids.get(i), i), spec.adapters().get(i).weightAsFloat()));
        }
        return out;
    }

    /** Textual CIDs of a request (for status pages); undecodable ones shown as hex. */
    public static List<String> cidStrings(InferenceSpec spec) {
        return spec.adapters().stream().map(a -> {
            try {
                return Cid.fromBytes(a.cid()).toString();
            } catch (RuntimeException e) {
                return "0x" + a.cidHex();
            }
        }).toList();
    }

    private static Cid parseCid(AdapterSpec a, int index) {
        try {
            return Cid.fromBytes(a.cid());
        } catch (IllegalArgumentException e) { // InvalidCidException included
            throw new PipelineFailure(FailureCode.INVALID_CID, "adapter " + index + ": invalid CID 0x" + a.cidHex() + ": " + e.getMessage());
        }
    }

    private LoraAdapter adapter(Cid cid, int index) {
        String key = cid.toString();
        LoraAdapter warm = parsed.get(key);
        if (warm != null) {
            meters.counter("loracle.adapters.parsed", "result", "hit").increment();
            return warm;
        }
        CompletableFuture<LoraAdapter> mine = new CompletableFuture<>();
        CompletableFuture<LoraAdapter> running = loading.putIfAbsent(key, mine);
        if (running != null) { // another request is fetching this CID: share its outcome
            meters.counter("loracle.adapters.parsed", "result", "shared").increment();
            try {
                return running.join();
            } catch (CompletionException e) {
                if (e.getCause() instanceof PipelineFailure f) throw new PipelineFailure(f.code(), f.getMessage().replaceFirst("^adapter \\d+", "adapter " + index));
                if (e.getCause() instanceof RuntimeException r) throw r;
                throw e;
            }
        }
        try {
            LoraAdapter adapter = fetchAndParse(cid, key, index);
            parsed.put(key, adapter);
            mine.complete(adapter);
            return adapter;
        } catch (RuntimeException e) {
            mine.completeExceptionally(e);
            throw e;
        } finally {
            loading.remove(key, mine);
        }
    }

    private LoraAdapter fetchAndParse(Cid cid, String key, int index) {
        meters.counter("loracle.adapters.parsed", "result", "miss").increment();
        FetchedContent content;
        try {
            content = cache.get(cid);
        } catch (ContentTooLargeException e) {
            throw new PipelineFailure(FailureCode.ADAPTER_INVALID, "adapter " + index + " (" + key + ") is too large: " + e.getMessage());
        } catch (VerificationException e) {
            throw new PipelineFailure(FailureCode.ADAPTER_INVALID, "adapter " + index + " (" + key + ") failed verification: " + e.getMessage());
        } catch (ContentNotFoundException e) {
            throw new PipelineFailure(FailureCode.ADAPTER_NOT_FOUND, "adapter " + index + " (" + key + ") not found on IPFS: " + e.getMessage());
        } catch (IpfsUnavailableException | IpfsTransportException | IpfsRpcException e) {
            throw new AdaptersUnavailableException("IPFS unavailable while fetching adapter " + key + ": " + e.getMessage(), e);
        } catch (IpfsException e) {
            throw new PipelineFailure(FailureCode.ADAPTER_NOT_FOUND, "adapter " + index + " (" + key + ") could not be fetched after retries: " + e.getMessage());
        }
        meters.counter("loracle.adapters.fetch", "source", content.fromCache() ? "cache" : "ipfs").increment();
        if (content.bytes() > maxAdapterBytes) {
            throw new PipelineFailure(FailureCode.ADAPTER_INVALID, "adapter " + index + " (" + key + ") is " + content.bytes()
                    + " bytes, above the limit of " + maxAdapterBytes);
        }
        LoraAdapter adapter;
        try {
            adapter = PeftAdapter.load(content.path(), loadOptions.withId(key));
        } catch (AdapterValidationException | IllegalArgumentException e) {
            throw new PipelineFailure(FailureCode.ADAPTER_INVALID, "adapter " + index + " (" + key + ") is not a valid PEFT LoRA adapter: "
                    + withoutLocalPath(e.getMessage(), content.path()));
        } catch (RuntimeException e) {
            log.warn("adapter {} cannot be read from {}", key, content.path(), e);
            throw new PipelineFailure(FailureCode.ADAPTER_INVALID, "adapter " + index + " (" + key + ") cannot be read: "
                    + withoutLocalPath(e.toString(), content.path()));
        }
        try {
            adapter.validateAgainst(shape);
        } catch (AdapterValidationException e) {
            throw new PipelineFailure(FailureCode.ADAPTER_INCOMPATIBLE, "adapter " + index + " (" + key + ") does not fit the model: " + e.getMessage());
        }
        log.debug("adapter {} ready ({} bytes, rank {})", key, adapter.bytes(), adapter.rankMax());
        return adapter;
    }

    /** Failure reasons go on-chain: name files relative to the adapter, never by this node's cache path. */
    static String withoutLocalPath(String message, Path adapterDir) {
        if (message == null) return "";
        for (String dir : List.of(adapterDir.toAbsolutePath().toString(), adapterDir.toString())) {
            message = message.replace(dir + File.separator, "").replace(dir, "<adapter>");
        }
        return message;
    }
}
