package dev.loracle.oracle.session;

import dev.loracle.contracts.FailureCode;
import dev.loracle.oracle.chain.CoordinatorClient;
import dev.loracle.oracle.journal.InferenceSpec;
import dev.loracle.oracle.journal.JournalEntry;
import dev.loracle.oracle.journal.PromptFormat;
import dev.loracle.oracle.journal.SessionJournal;
import dev.loracle.oracle.session.snapshot.KvSnapshotExchange;
import dev.loracle.oracle.session.snapshot.ResumeOutcome;
import dev.loracle.oracle.session.snapshot.SessionTurn;
import dev.loracle.runtime.engine.AdapterWeight;
import dev.loracle.runtime.engine.AttachMode;
import dev.loracle.runtime.session.KvSnapshots;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.web3j.utils.Numeric;

import java.util.List;
import java.util.Optional;

/**
 * What the request pipeline does differently for a session turn: find out that a request is one, wait for the turns
 * before it, rebuild the history it continues, make the KV rows of that history resident (prefix cache or snapshots),
 * and after generation compute the session's new head and publish the turn's snapshot (its CID computed locally, the
 * upload in the background).
 */
public class SessionServing {
    private static final Logger log = LoggerFactory.getLogger(SessionServing.class);

    /** A turn that cannot be served as asked: failed on-chain with this code (the consumer is refunded). */
    public static final class TurnRefused extends RuntimeException {
        private final FailureCode code;

        public TurnRefused(FailureCode code, String message) {
            super(message);
            this.code = code;
        }

        public FailureCode code() {
            return code;
        }
    }

    /** The result of {@link #plan}: an ordinary request, a parked turn, or a turn ready with its history. */
    public record Plan(boolean turn, RebuiltHistory history) {
        public static final Plan PLAIN_REQUEST = new Plan(false, null);
        static final Plan WAITING = new Plan(true, null);

        public boolean waiting() {
            return turn && history == null;
        }
    }

    private final SessionJournal sessions;
    private final SessionHistory history;
    private final TurnGate gate;
    private final KvSnapshotExchange snapshots;
    private final CoordinatorClient chain;
    private final MeterRegistry meters;
    private final Timer publishTimer;

    public SessionServing(SessionJournal sessions, SessionHistory history, TurnGate gate, KvSnapshotExchange snapshots,
                          CoordinatorClient chain, MeterRegistry meters) {
        this.sessions = sessions;
        this.history = history;
        this.gate = gate;
        this.snapshots = snapshots;
        this.chain = chain;
        this.meters = meters;
        this.publishTimer = Timer.builder("loracle.session.fulfilment.publish")
                .description("what KvSnapshotExchange.publish adds to a turn's fulfilment path, as the pipeline waits for it").register(meters);
    }

    public TurnGate gate() {
        return gate;
    }

    /** The session turn an on-chain request is: the journal first, else the coordinator's turns() view (then journaled). */
    public Optional<SessionTurnRecord> turnOf(InferenceSpec spec) {
        Optional<SessionTurnRecord> known = sessions.find(spec.id());
        if (known.isPresent()) return known;
        CoordinatorClient.TurnRef ref = chain.turnOf(spec.requestId());
        if (!ref.isTurn()) return Optional.empty();
        sessions.recordRequested(InferenceSpec.chainId(ref.sessionId()), ref.index(), spec.id());
        return sessions.find(spec.id());
    }

    /**
     * Decides how to serve {@code e}: PLAIN for an ordinary request; for a turn, parks it while an earlier turn has not
     * ended (WAITING), else rebuilds its history. Throws {@link TurnRefused} for a CHAT turn or a history that does not
     * fit the context with the turn's maxTokens.
     */
    public Plan plan(JournalEntry e, int contextLength) {
        Optional<SessionTurnRecord> turn = turnOf(e.spec());
        if (turn.isEmpty()) return Plan.PLAIN_REQUEST;
        if (e.spec().promptFormat() == PromptFormat.CHAT) {
            throw new TurnRefused(FailureCode.PROMPT_INVALID, "CHAT-format session turns are not served: a chat template"
                    + " renders a whole conversation (end-of-turn markers and the generation prompt depend on what follows),"
                    + " so its tokens are not a prefix-stable history; send RAW turns");
        }
        long seen = gate.endingsSeen(turn.get().sessionId());
        SessionHistory.Outcome outcome = history.rebuild(turn.get(), e.spec());
        if (!outcome.ready()) {
            gate.park(e.id(), turn.get().sessionId(), e.spec().deadline(), seen, outcome.blocked().reason());
            return Plan.WAITING;
        }
        RebuiltHistory h = outcome.history();
        long needed = (long) h.promptTokens().length + e.spec().maxTokens();
        if (needed > contextLength) {
            meters.counter("loracle.session.context.overflow").increment();
            throw new TurnRefused(FailureCode.CONTEXT_OVERFLOW, "session history of " + h.historyTokens().length
                    + " tokens + this turn's prompt (" + (h.promptTokens().length - h.historyTokens().length)
                    + " tokens) + maxTokens " + e.spec().maxTokens() + " exceeds the context of " + contextLength);
        }
        return new Plan(true, h);
    }

    /** Before generating: the history's KV rows resident in the prefix cache if any node has them; never throws. */
    public ResumeOutcome prepareKv(RebuiltHistory h, InferenceSpec spec, List<AdapterWeight> held, AttachMode mode) {
        ResumeOutcome outcome;
        try {
            outcome = snapshots.prepare(turn(h, spec, held, mode), h.historyTokens(), h.snapshotCids());
        } catch (RuntimeException e) { // the seam says it never throws; a bug there must not fail the turn
            log.warn("snapshot prepare failed ({}); the turn recomputes", e.toString());
            outcome = new ResumeOutcome(ResumeOutcome.Source.RECOMPUTE, 0, e.toString());
        }
        log.info("session turn {}: history {} tokens, resume {} ({} positions): {}", h.turn().index(),
                h.historyTokens().length, outcome.source(), outcome.positions(), outcome.detail());
        return outcome;
    }

    /** What a generated turn is fulfilled with besides its output. */
    public record Fulfilment(byte[] head, byte[] snapshotCid) {
    }

    /**
     * After generating: the canonical tokens after the turn, their head, and the turn's snapshot (publish computes the
     * CID locally and uploads in the background). Journaled, so a resent fulfilment carries the same values.
     */
    public Fulfilment finish(RebuiltHistory h, InferenceSpec spec, String output, List<AdapterWeight> held, AttachMode mode) {
        SessionHistory.Advanced after = history.advance(h.promptTokens(), output, spec);
        long t0 = System.nanoTime();
        byte[] cid;
        try {
            cid = snapshots.publish(turn(h, spec, held, mode), after.tokens(), h.historyTokens().length, h.parentCid());
        } catch (RuntimeException e) {
            log.warn("snapshot not published ({}); fulfilled without one", e.toString());
            cid = new byte[0];
        }
        publishTimer.record(System.nanoTime() - t0, java.util.concurrent.TimeUnit.NANOSECONDS);
        sessions.recordLocalResult(spec.id(), Numeric.toHexString(after.head()), Numeric.toHexString(cid));
        return new Fulfilment(after.head(), cid);
    }

    /** The head and CID this node computed for turn {@code requestId}, if it is a turn it generated. */
    public Optional<Fulfilment> fulfilmentOf(String requestId) {
        return sessions.find(requestId).filter(t -> t.localHead() != null).map(t -> new Fulfilment(
                Numeric.hexStringToByteArray(t.localHead()), Numeric.hexStringToByteArray(t.localSnapshotCidHex())));
    }

    /** Whether the request is a journaled session turn (fulfilled with fulfillTurn, never fulfill). */
    public boolean isTurn(String requestId) {
        return sessions.find(requestId).isPresent();
    }

    private static SessionTurn turn(RebuiltHistory h, InferenceSpec spec, List<AdapterWeight> held, AttachMode mode) {
        return new SessionTurn(Numeric.toBigInt(h.turn().sessionId()), h.turn().index(), spec.requestId(),
                new KvSnapshots.AdapterSet(held, mode, spec.adapterSetKey()));
    }
}
