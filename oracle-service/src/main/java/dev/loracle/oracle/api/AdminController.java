package dev.loracle.oracle.api;

import dev.loracle.oracle.chain.CoordinatorClient;
import dev.loracle.oracle.chain.RpcErrorException;
import org.springframework.beans.factory.ObjectProvider;

import dev.loracle.oracle.journal.RequestJournal;
import dev.loracle.oracle.journal.RequestState;
import dev.loracle.oracle.journal.StaleStateException;
import dev.loracle.oracle.pipeline.RequestPipeline;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;

import java.util.Map;

/** Operator actions (admin API key required, see {@link ApiKeyFilter}). */
@RestController
@RequestMapping("/api/admin")
public class AdminController {
    private static final Logger log = LoggerFactory.getLogger(AdminController.class);

    private final RequestPipeline pipeline;
    private final RequestJournal journal;
    private final CoordinatorClient chain;

    public AdminController(RequestPipeline pipeline, RequestJournal journal, ObjectProvider<CoordinatorClient> chain) {
        this.pipeline = pipeline;
        this.journal = journal;
        this.chain = chain.getIfAvailable();
    }

    /** Collects the fees the coordinator credited to this oracle: sends withdraw() and returns its tx hash. */
    @PostMapping("/withdraw")
    public org.springframework.http.ResponseEntity<Map<String, Object>> withdraw() {
        if (chain == null) return conflict("this node runs without a chain");
        java.math.BigInteger credits = chain.unclaimedCredits();
        if (credits.signum() == 0) return conflict("nothing to withdraw: no credited fees");
        try {
            var tx = chain.withdraw(System.currentTimeMillis());
            log.info("operator withdraw of {} wei in tx {}", credits, tx.txHash());
            return org.springframework.http.ResponseEntity.ok(Map.of("txHash", tx.txHash(), "amountWei", credits.toString()));
        } catch (RpcErrorException e) {
            return conflict("withdraw would revert: " + e.getMessage());
        }
    }

    private static org.springframework.http.ResponseEntity<Map<String, Object>> conflict(String message) {
        return org.springframework.http.ResponseEntity.status(HttpStatus.CONFLICT).body(Map.of("error", message));
    }

    /** Retry a FAILED or EXPIRED request from the start (on-chain: only useful while it is still pending). */
    @PostMapping("/requests/{id}/retry")
    public RequestView retry(@PathVariable String id) {
        String key = id.startsWith("cmpl-") ? id : StatusController.normaliseChainId(id);
        var e = journal.find(key).orElseThrow(() -> new ResponseStatusException(HttpStatus.NOT_FOUND, "no request " + id));
        if (e.state() != RequestState.FAILED && e.state() != RequestState.EXPIRED) {
            throw new ResponseStatusException(HttpStatus.CONFLICT, "only FAILED or EXPIRED requests can be retried; " + id + " is " + e.state());
        }
        try {
            log.info("operator retry of {}", key);
            return RequestView.of(pipeline.retry(key));
        } catch (StaleStateException stale) {
            throw new ResponseStatusException(HttpStatus.CONFLICT, stale.getMessage());
        }
    }

    /** Stop starting new work; in-flight requests finish (for maintenance or before a shutdown). */
    @PostMapping("/drain")
    public Map<String, Object> drain() {
        pipeline.drain();
        return Map.of("accepting", false, "inFlight", pipeline.inFlight(), "queueDepth", pipeline.queueDepth());
    }

    @PostMapping("/resume")
    public Map<String, Object> resume() {
        pipeline.resume();
        return Map.of("accepting", true);
    }
}
