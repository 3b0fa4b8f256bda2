package dev.loracle.oracle.pipeline;

import dev.loracle.contracts.FailureCode;
import dev.loracle.oracle.journal.JournalEntry;
import dev.loracle.oracle.journal.RequestOrigin;
import dev.loracle.oracle.journal.RequestState;
import dev.loracle.oracle.journal.StaleStateException;
import dev.loracle.oracle.journal.TxRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * How requests end early: a journal ending (EXPIRED / CANCELLED), or FAILED with a code followed, for on-chain requests,
 * by a reportFailure transaction so the consumer is refunded. Also tells API observers that their request is done.
 */
final class Outcomes {
    private static final Logger log = LoggerFactory.getLogger(Outcomes.class);

    private final PipelineContext ctx;
    private final Map<String, GenerationEvents> observers = new ConcurrentHashMap<>();
    private final Set<String> reporting = ConcurrentHashMap.newKeySet();

    Outcomes(PipelineContext ctx) {
        this.ctx = ctx;
    }

    void observe(String id, GenerationEvents events) {
        observers.put(id, events);
    }

    GenerationEvents observer(String id) {
        return observers.get(id);
    }

    void forget(String id) {
        observers.remove(id);
    }

    /** FAILED with a code, then (on-chain requests) a reportFailure tx so the consumer is refunded. */
    void fail(String id, FailureCode code, String reason) {
        JournalEntry e = ctx.journal().get(id);
        if (e.state().isTerminal() || e.state() == RequestState.CONFIRMED) return;
        log.warn("request failed with {} ({}): {}", code, code.code(), reason);
        JournalEntry failed;
        try {
            failed = ctx.journal().fail(id, e.state(), RequestState.FAILED, code.code(), reason);
        } catch (StaleStateException stale) {
            log.info("failure not recorded: {}", stale.getMessage());
            return;
        }
        notifyDone(failed);
        if (failed.spec().origin() == RequestOrigin.CHAIN) sendFailureReport(failed);
    }

    /** Sends the reportFailure tx of a FAILED on-chain request unless one is open or the request ended otherwise. */
    void sendFailureReport(JournalEntry failed) {
        if (!reporting.add(failed.id())) return; // the failing worker and the sweep may both try
        try {
            if (hasOpenTx(failed.id(), TxRecord.TxKind.FAILURE)) return;
            if (ctx.journal().find(failed.id()).map(e -> e.timings().confirmedAt() != null).orElse(true)) return;
            if (!ctx.chain().isPending(failed.spec().requestId())) {
                log.info("not reporting failure: request no longer pending on-chain");
                ctx.journal().markFailureReported(failed.id());
                return;
            }
            TxRecord tx = ctx.chain().reportFailure(failed.spec(), failed.failureCode(), failed.reason());
            ctx.journal().recordTx(failed.id(), tx.txHash(), tx.kind().name());
        } catch (RuntimeException e) {
            log.warn("reportFailure not sent this time ({}); the sweep retries", e.toString());
        } finally {
            reporting.remove(failed.id());
        }
    }

    void end(JournalEntry e, RequestState ending, String reason) {
        try {
            JournalEntry done = ctx.journal().transition(e.id(), e.state(), ending, reason);
            log.info("{}: {}", ending, reason);
            notifyDone(done);
        } catch (StaleStateException stale) {
            log.debug("ending skipped: {}", stale.getMessage());
        }
    }

    void notifyDone(JournalEntry entry) {
        GenerationEvents o = observers.remove(entry.id());
        if (o != null) o.onDone(entry);
    }

    boolean hasOpenTx(String id, TxRecord.TxKind kind) {
        return ctx.txJournal().latestForRequest(id, kind).map(t -> t.status().open()).orElse(false);
    }

    /** Ends a request whose deadline (minus the margin) has come; true when it did. */
    boolean expireIfLate(JournalEntry e) {
        long deadline = e.spec().deadline();
        if (deadline == 0) return false;
        long nowMs = ctx.clock().millis();
        if (nowMs + ctx.cfg().deadlineMargin().toMillis() >= deadline * 1000) {
            end(e, RequestState.EXPIRED, "deadline " + deadline + " cannot be met (now " + nowMs / 1000 + ")");
            return true;
        }
        return false;
    }
}
