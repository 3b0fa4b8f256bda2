package dev.loracle.oracle.pipeline;

import dev.loracle.oracle.chain.TxOutcomeListener;
import dev.loracle.oracle.journal.JournalEntry;
import dev.loracle.oracle.journal.RequestState;
import dev.loracle.oracle.journal.StaleStateException;
import dev.loracle.oracle.journal.TxRecord;
import dev.loracle.oracle.runtime.RuntimeService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;

/**
 * Stage 4: follows the outcome of the node's transactions and the unloading of adapters. A confirmed fulfilment makes
 * the request CONFIRMED and releases its adapters; once they have left the device the request is UNLOADED. A reverted
 * fulfilment is re-decided (served elsewhere, expired, or failed); a mined failure report marks the failure reported.
 */
final class ConfirmationTracker implements TxOutcomeListener, RuntimeService.UnloadListener {
    private static final Logger log = LoggerFactory.getLogger(ConfirmationTracker.class);

    private final PipelineContext ctx;
    private final Generator generator;
    private final FulfilmentSubmitter submitter;

    ConfirmationTracker(PipelineContext ctx, Generator generator, FulfilmentSubmitter submitter) {
        this.ctx = ctx;
        this.generator = generator;
        this.submitter = submitter;
    }

    @Override
    public void onFinal(TxRecord tx, boolean success) {
        if (tx.kind() == TxRecord.TxKind.WITHDRAW) {
            log.info("withdraw tx {} {}", tx.txHash(), success ? "confirmed" : "reverted");
            return;
        }
        PipelineContext.withMdc(tx.requestId(), () -> {
            JournalEntry e = ctx.journal().get(tx.requestId());
            if (tx.gasUsed() != null) ctx.journal().recordGasUsed(e.id(), tx.gasUsed());
            if (tx.kind() == TxRecord.TxKind.FAILURE) {
                if (success || !ctx.chain().isPending(e.spec().requestId())) ctx.journal().markFailureReported(e.id());
                else log.error("reportFailure tx {} reverted while the request is still pending", tx.txHash());
                return;
            }
            if (e.state() != RequestState.SUBMITTED) return;
            if (!success) {
                submitter.fulfilRejected(e, "fulfil tx " + tx.txHash() + " reverted");
                return;
            }
            try {
                ctx.journal().transition(e.id(), RequestState.SUBMITTED, RequestState.CONFIRMED, null);
            } catch (StaleStateException alreadyDone) {
                return; // the receipt tracker and the sweep both saw the receipt; the first one won
            }
            if (e.timings().submittedAt() != null) {
                ctx.meters().timer("loracle.stage.latency", "stage", "confirm")
                        .record(Duration.ofMillis(ctx.clock().millis() - e.timings().submittedAt()));
            }
            log.info("fulfilment confirmed (tx {}, gas {})", tx.txHash(), tx.gasUsed());
            generator.release(e.id());
        });
    }

    @Override
    public void onSuperseded(TxRecord tx) {
        if (tx.kind() == TxRecord.TxKind.WITHDRAW) return;
        // the sweep sees SUBMITTED (or an unreported FAILED) without an open tx and decides again (isPending first)
        log.warn("tx {} for {} superseded; the request will be re-checked", tx.txHash(), tx.requestId());
    }

    @Override
    public void onUnloaded(List<String> requestIds) {
        for (String id : requestIds) {
            PipelineContext.withMdc(id, () -> ctx.journal().find(id).filter(e -> e.state() == RequestState.CONFIRMED).ifPresent(e -> {
                try {
                    ctx.journal().transition(id, RequestState.CONFIRMED, RequestState.UNLOADED, null);
                    log.info("adapters unloaded");
                } catch (StaleStateException ignored) {
                    // another path unloaded it first
                }
            }));
        }
    }
}
