package dev.loracle.oracle.pipeline;

import dev.loracle.contracts.FailureCode;
import dev.loracle.oracle.chain.RpcErrorException;
import dev.loracle.oracle.chain.TxOutcomeListener;
import dev.loracle.oracle.journal.JournalEntry;
import dev.loracle.oracle.journal.RequestState;
import dev.loracle.oracle.journal.StaleStateException;
import dev.loracle.oracle.journal.TxRecord;
import dev.loracle.oracle.session.SessionServing;
import io.micrometer.core.instrument.Timer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.web3j.utils.Numeric;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Stage 3: sends fulfil transactions. One sender thread signs them in order; the transaction manager does not wait for
 * receipts, so many fulfilments are pending at once with consecutive nonces while the manager tracks their receipts
 * (fee bumps, nonce-gap repair). Right before sending it checks {@code isPending}: a request another oracle served
 * meanwhile is not sent (and its adapters are released).
 */
final class FulfilmentSubmitter implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(FulfilmentSubmitter.class);

    private final PipelineContext ctx;
    private final Generator generator;
    private final Outcomes outcomes;
    private final ExecutorService sender = Executors.newSingleThreadExecutor(Thread.ofPlatform().name("submit").daemon().factory());
    private final Timer overhead;
    /** The last overhead samples (ns), for benchmarks that must exclude warm-up; the Timer keeps the full history. */
    private final ConcurrentLinkedDeque<Long> recentOverhead = new ConcurrentLinkedDeque<>();
    private volatile TxOutcomeListener confirmations;

    /** Session turns go out with fulfillTurn (the coordinator refuses fulfill for them); null without the chain. */
    private final SessionServing sessions;

    FulfilmentSubmitter(PipelineContext ctx, Generator generator, Outcomes outcomes) {
        this(ctx, generator, outcomes, null);
    }

    FulfilmentSubmitter(PipelineContext ctx, Generator generator, Outcomes outcomes, SessionServing sessions) {
        this.sessions = sessions;
        this.ctx = ctx;
        this.generator = generator;
        this.outcomes = outcomes;
        this.overhead = Timer.builder("loracle.oracle.overhead").description("request picked up -> fulfil tx sent, minus generation")
                .publishPercentiles(0.5, 0.99).register(ctx.meters());
    }

    /** Where a fulfilment found mined out of band is reported (the confirmation tracker). */
    void confirmationsTo(TxOutcomeListener listener) {
        this.confirmations = listener;
    }

    /** Queues the fulfilment of a generated request (state RUNNING or SUBMITTED); the request is in flight. */
    void submitLater(String id, long genNanos) {
        sender.execute(() -> PipelineContext.withMdc(id, () -> submit(id, genNanos)));
    }

    List<Long> drainOverheadSamples() {
        List<Long> out = new ArrayList<>();
        for (Long v; (v = recentOverhead.pollFirst()) != null; ) out.add(v);
        return out;
    }

    private void submit(String id, long genNanos) {
        try {
            JournalEntry e = ctx.journal().get(id);
            if (e.state() != RequestState.RUNNING && e.state() != RequestState.SUBMITTED) return;
            if (e.state() == RequestState.SUBMITTED && outcomes.hasOpenTx(id, TxRecord.TxKind.FULFIL)) return;
            if (outcomes.expireIfLate(e)) {
                generator.release(id);
                return;
            }
            // after a restart (SUBMITTED) always ask: an earlier fulfil of ours may be mined already
            if ((e.state() == RequestState.SUBMITTED || ctx.mayBeServedElsewhere(e.spec())) && !ctx.chain().isPending(e.spec().requestId())) {
                if (e.state() == RequestState.SUBMITTED && alreadyFulfilledByUs(id)) return;
                generator.release(id);
                outcomes.end(e, RequestState.CANCELLED, "no longer pending on-chain (served by another oracle or cancelled); not sent");
                return;
            }
            if (e.state() == RequestState.RUNNING) {
                e = ctx.journal().transition(id, RequestState.RUNNING, RequestState.SUBMITTED, null);
            }
            TxRecord tx;
            try {
                tx = send(e);
            } catch (RpcErrorException reverted) {
                fulfilRejected(e, reverted.getMessage());
                return;
            }
            ctx.journal().recordTx(id, tx.txHash(), tx.kind().name());
            ctx.meters().counter("loracle.fulfil.sent").increment();
            long since = ctx.inFlight().since(id);
            if (since > 0 && genNanos > 0) {
                long sample = Math.max(0, System.nanoTime() - since - genNanos);
                overhead.record(Duration.ofNanos(sample));
                recentOverhead.addLast(sample);
                while (recentOverhead.size() > 10_000) recentOverhead.pollFirst();
            }
        } catch (StaleStateException stale) {
            log.info("submit skipped: {}", stale.getMessage());
        } catch (RuntimeException transientError) {
            log.warn("fulfil not sent this time ({}); the sweep retries", transientError.toString());
        } finally {
            ctx.inFlight().end(id);
        }
    }

    private TxRecord send(JournalEntry e) {
        byte[] output = e.output().getBytes(StandardCharsets.UTF_8);
        byte[] commitment = Numeric.hexStringToByteArray(e.resultCommitment());
        if (sessions != null && sessions.isTurn(e.id())) {
            SessionServing.Fulfilment turn = sessions.fulfilmentOf(e.id()).orElseThrow(() -> new IllegalStateException(
                    "session turn " + e.id() + " has an output but no session head journaled"));
            return ctx.chain().fulfilTurn(e.spec(), output, commitment, turn.head(), turn.snapshotCid());
        }
        return ctx.chain().fulfil(e.spec(), output, commitment);
    }

    /** The coordinator refused our fulfilment: find out why and end the request accordingly. */
    void fulfilRejected(JournalEntry e, String why) {
        generator.release(e.id());
        if (!ctx.chain().isPending(e.spec().requestId())) {
            outcomes.end(e, RequestState.CANCELLED, "fulfil rejected, request no longer pending: " + why);
        } else if (e.spec().deadline() != 0 && ctx.clock().millis() / 1000 > e.spec().deadline()) {
            outcomes.end(e, RequestState.EXPIRED, "deadline passed before fulfil: " + why);
        } else {
            outcomes.fail(e.id(), FailureCode.INTERNAL_ERROR, "fulfil rejected by the coordinator: " + why);
        }
    }

    /** One of our earlier fulfil txs for this request is mined successfully (e.g. tracked as superseded in a race). */
    private boolean alreadyFulfilledByUs(String id) {
        for (TxRecord tx : ctx.txJournal().forRequest(id)) {
            if (tx.kind() != TxRecord.TxKind.FULFIL) continue;
            var receipt = ctx.chain().transactions().findReceipt(tx);
            if (receipt.isPresent() && receipt.get().isStatusOK()) {
                ctx.txJournal().setStatus(tx.id(), TxRecord.TxStatus.CONFIRMED);
                log.info("fulfil tx {} found mined; completing from it", receipt.get().getTransactionHash());
                confirmations.onFinal(ctx.txJournal().get(tx.id()), true);
                return true;
            }
        }
        return false;
    }

    @Override
    public void close() {
        sender.shutdown();
        try {
            sender.awaitTermination(Math.max(1, ctx.cfg().shutdownTimeout().toMillis()), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        sender.shutdownNow();
    }
}
