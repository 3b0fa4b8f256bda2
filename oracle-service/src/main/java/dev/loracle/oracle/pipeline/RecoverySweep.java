package dev.loracle.oracle.pipeline;

import dev.loracle.oracle.journal.JournalEntry;
import dev.loracle.oracle.journal.RequestState;
import dev.loracle.oracle.journal.TxRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * The periodic pass over the journal that makes the pipeline restartable: it re-dispatches whatever is unfinished and
 * not in flight (restart recovery, backpressure overflow, RPC and IPFS outages), re-sends fulfilments and failure reports
 * without an open transaction, completes requests whose receipt arrived while the node was down, and unloads confirmed
 * requests whose adapters are no longer resident.
 */
final class RecoverySweep implements Runnable {
    private static final Logger log = LoggerFactory.getLogger(RecoverySweep.class);

    private final PipelineContext ctx;
    private final Intake intake;
    private final FulfilmentSubmitter submitter;
    private final Outcomes outcomes;
    private final ConfirmationTracker confirmations;
    private final Predicate<String> adapterSetResident;

    RecoverySweep(PipelineContext ctx, Intake intake, FulfilmentSubmitter submitter, Outcomes outcomes,
                  ConfirmationTracker confirmations, Predicate<String> adapterSetResident) {
        this.ctx = ctx;
        this.intake = intake;
        this.submitter = submitter;
        this.outcomes = outcomes;
        this.confirmations = confirmations;
        this.adapterSetResident = adapterSetResident;
    }

    @Override
    public void run() {
        try {
            if (ctx.stopped().get()) return;
            int room = ctx.cfg().queueCapacity();
            for (JournalEntry e : ctx.journal().findByStates(room, RequestState.RECEIVED, RequestState.FETCHING, RequestState.RUNNING)) {
                if (!ctx.inFlight().contains(e.id()) && (e.state() == RequestState.RECEIVED || ctx.accepting().get())) {
                    intake.dispatch(e.id());
                }
            }
            if (ctx.chain() != null) {
                resendFulfilments(room);
                resendFailureReports(room);
            }
            for (JournalEntry e : ctx.journal().findByStates(room, RequestState.CONFIRMED)) {
                if (!adapterSetResident.test(e.spec().adapterSetKey())) confirmations.onUnloaded(List.of(e.id()));
            }
        } catch (RuntimeException e) {
            log.warn("sweep failed (will run again): {}", e.toString());
        }
    }

    private void resendFulfilments(int room) {
        for (JournalEntry e : ctx.journal().findByStates(room, RequestState.SUBMITTED)) {
            if (ctx.inFlight().contains(e.id()) || outcomes.hasOpenTx(e.id(), TxRecord.TxKind.FULFIL)) continue;
            Optional<TxRecord> last = ctx.txJournal().latestForRequest(e.id(), TxRecord.TxKind.FULFIL);
            if (last.isPresent() && last.get().status() == TxRecord.TxStatus.CONFIRMED) {
                confirmations.onFinal(last.get(), true); // crashed between the receipt and the journal update
            } else if (last.isPresent() && last.get().status() == TxRecord.TxStatus.REVERTED) {
                confirmations.onFinal(last.get(), false);
            } else if (ctx.inFlight().begin(e.id())) {
                submitter.submitLater(e.id(), 0);
            }
        }
    }

    private void resendFailureReports(int room) {
        for (JournalEntry e : ctx.journal().unreportedFailures(room)) {
            Optional<TxRecord> last = ctx.txJournal().latestForRequest(e.id(), TxRecord.TxKind.FAILURE);
            if (last.isPresent() && last.get().status() == TxRecord.TxStatus.CONFIRMED) {
                ctx.journal().markFailureReported(e.id());
            } else if (last.isEmpty() || !last.get().status().open()) {
                PipelineContext.withMdc(e.id(), () -> outcomes.sendFailureReport(e));
            }
        }
    }
}
