package dev.loracle.oracle.chain;

import dev.loracle.oracle.config.OracleProperties;
import dev.loracle.oracle.journal.ChainOrigin;
import dev.loracle.oracle.journal.IngestionStore;
import dev.loracle.oracle.journal.IngestionStore.BlockRef;
import dev.loracle.oracle.journal.InferenceSpec;
import dev.loracle.oracle.journal.JournalEntry;
import dev.loracle.oracle.journal.RequestJournal;
import dev.loracle.oracle.journal.SessionJournal;
import dev.loracle.oracle.pipeline.RequestIntake;
import io.micrometer.core.instrument.MeterRegistry;
import io.reactivex.disposables.Disposable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.web3j.protocol.Web3j;
import org.web3j.protocol.core.DefaultBlockParameter;
import org.web3j.protocol.core.DefaultBlockParameterNumber;
import org.web3j.protocol.core.methods.request.EthFilter;
import org.web3j.protocol.core.methods.response.EthBlock;
import org.web3j.protocol.core.methods.response.EthLog;
import org.web3j.protocol.core.methods.response.Log;
import org.web3j.protocol.websocket.WebSocketService;
import org.web3j.utils.Numeric;

import java.math.BigInteger;
import java.net.URI;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Follows the coordinator's InferenceRequested / InferenceCancelled logs and its session logs (SessionTurnRequested,
 * SessionAdvanced, and the endings of turns): WebSocket subscriptions for latency (requests and SessionAdvanced), and a
 * polling loop that (1) re-checks the hashes of ingested blocks for reorgs (anvil sends no {@code removed} logs),
 * (2) backfills with eth_getLogs from the persisted cursor up to the confirmed head, splitting ranges the RPC refuses.
 * Every request is journaled before the pipeline hears of it; duplicates (WS + backfill) are ignored by the journal.
 */
public class ChainIngestor {
    private static final Logger log = LoggerFactory.getLogger(ChainIngestor.class);

    private final RpcGateway rpc;
    private final RequestJournal journal;
    private final IngestionStore store;
    private final RequestIntake intake;
    private final OracleProperties.Chain cfg;
    private final String coordinator;
    private final ReentrantLock ingesting = new ReentrantLock();
    private final AtomicLong head = new AtomicLong(-1);
    private final AtomicLong logRange;
    private final AtomicReference<Instant> lastTick = new AtomicReference<>();
    private final AtomicReference<String> lastError = new AtomicReference<>();
    private final MeterRegistry meters;
    private volatile WebSocketService ws;
    private volatile Disposable subscription;
    /** Session turn endings pushed over the WebSocket, so a waiting turn starts without waiting for the next poll. */
    private volatile Disposable sessionSubscription;
    private volatile boolean wsUp;
    private final OracleActivity activity;
    /** Session turns as announced on-chain; null = session events are not followed. */
    private final SessionJournal sessions;

    public ChainIngestor(RpcGateway rpc, RequestJournal journal, IngestionStore store, RequestIntake intake,
                         OracleProperties.Chain cfg, MeterRegistry meters, OracleActivity activity) {
        this(rpc, journal, store, intake, cfg, meters, activity, null);
    }

    public ChainIngestor(RpcGateway rpc, RequestJournal journal, IngestionStore store, RequestIntake intake,
                         OracleProperties.Chain cfg, MeterRegistry meters, OracleActivity activity, SessionJournal sessions) {
        this.activity = activity;
        this.sessions = sessions;
        this.rpc = rpc;
        this.journal = journal;
        this.store = store;
        this.intake = intake;
        this.cfg = cfg;
        this.coordinator = cfg.coordinatorAddress().toLowerCase();
        this.logRange = new AtomicLong(cfg.maxLogRange());
        this.meters = meters;
        meters.gauge("loracle.chain.head", head);
    }

    /** One round of the safety net: reorg check, then backfill to the confirmed head. Never throws. */
    public void tick() {
        if (cfg.websocket() && !wsUp) connectWebSocket();
        ingesting.lock();
        try {
            long h = rpc.send("eth_blockNumber", Web3j::ethBlockNumber).getBlockNumber().longValueExact();
            head.set(h);
            checkReorgs(h);
            backfill(h);
            lastTick.set(Instant.now());
            lastError.set(null);
        } catch (RuntimeException e) {
            lastError.set(Instant.now() + ": " + e.getMessage());
            meters.counter("loracle.chain.ingest.errors").increment();
            log.warn("ingestion round failed (will retry): {}", e.getMessage());
        } finally {
            ingesting.unlock();
        }
    }

    private long confirmedHead(long h) {
        return h - Math.max(0, cfg.confirmations() - 1);
    }

    private void backfill(long h) {
        long target = confirmedHead(h);
        BlockRef cursor = store.cursor(IngestionStore.COORDINATOR_CURSOR).orElse(null);
        long from = cursor == null ? cfg.startBlock() : cursor.number() + 1;
        while (from <= target) {
            long to = Math.min(target, from + logRange.get() - 1);
            for (Log l : getLogs(from, to)) handle(l);
            BlockRef done = blockRef(to);
            store.advance(IngestionStore.COORDINATOR_CURSOR, done);
            from = to + 1;
        }
    }

    /** eth_getLogs with range splitting: a refused range is halved (and the hint lowered) until it passes. */
    List<Log> getLogs(long from, long to) {
        EthFilter filter = new EthFilter(new DefaultBlockParameterNumber(from), new DefaultBlockParameterNumber(to), coordinator);
        filter.addOptionalTopics(CoordinatorAbi.INFERENCE_REQUESTED_TOPIC, CoordinatorAbi.INFERENCE_CANCELLED_TOPIC,
                CoordinatorAbi.INFERENCE_FULFILLED_TOPIC, CoordinatorAbi.INFERENCE_FAILED_TOPIC,
                CoordinatorAbi.SESSION_TURN_REQUESTED_TOPIC, CoordinatorAbi.SESSION_ADVANCED_TOPIC);
        try {
            List<Log> out = new ArrayList<>();
            for (EthLog.LogResult<?> r : rpc.send("eth_getLogs", w -> w.ethGetLogs(filter)).getLogs()) out.add((Log) r.get());
            return out;
        } catch (RpcErrorException refused) {
            if (to <= from) throw refused;
            long mid = from + (to - from) / 2;
            logRange.set(Math.max(1, (to - from + 1) / 2));
            log.info("eth_getLogs {}..{} refused ({}); splitting", from, to, refused.getMessage());
            List<Log> out = new ArrayList<>(getLogs(from, mid));
            out.addAll(getLogs(mid + 1, to));
            return out;
        }
    }

    private BlockRef blockRef(long number) {
        EthBlock.Block b = rpc.send("eth_getBlockByNumber",
                w -> w.ethGetBlockByNumber(DefaultBlockParameter.valueOf(BigInteger.valueOf(number)), false)).getBlock();
        if (b == null) throw new RpcTransportException("block " + number + " not available yet", null);
        return new BlockRef(number, b.getHash());
    }

    /** Compares every remembered block hash in the reorg window with the canonical chain; rewinds at the first fork. */
    private void checkReorgs(long h) {
        List<BlockRef> remembered = store.blocksFrom(Math.max(0, h - cfg.reorgDepth()));
        Map<Long, Optional<String>> canonical = rpc.blockHashes(remembered.stream().map(BlockRef::number).distinct().toList());
        for (BlockRef b : remembered) {
            Optional<String> hash = canonical.get(b.number());
            if (hash.isPresent() && hash.get().equals(b.hash())) continue;
            handleReorg(b.number(), h);
            return;
        }
        store.pruneBelow(Math.max(0, h - cfg.reorgDepth()));
    }

    private void handleReorg(long forkBlock, long h) {
        log.warn("reorg detected: block {} changed; re-reading requests from block {}", forkBlock, forkBlock);
        meters.counter("loracle.chain.reorgs").increment();
        long target = Math.max(forkBlock, confirmedHead(h));
        Set<String> stillThere = new HashSet<>();
        for (Log l : forkBlock <= h ? getLogs(forkBlock, Math.min(target, h)) : List.<Log>of()) {
            if (CoordinatorAbi.INFERENCE_REQUESTED_TOPIC.equals(l.getTopics().get(0))) {
                stillThere.add(InferenceSpec.chainId(Numeric.toBigInt(l.getTopics().get(1))));
            }
        }
        for (JournalEntry e : journal.findFromBlock(forkBlock)) {
            if (!stillThere.contains(e.id()) && !e.state().isTerminal()) {
                MDC.put("requestId", e.id());
                try {
                    log.warn("request event reorged out of the chain (was in block {})", e.chainOrigin().blockNumber());
                    intake.requestWithdrawn(e.id(), "request event reorged out of the chain (block " + e.chainOrigin().blockNumber() + ")");
                } finally {
                    MDC.remove("requestId");
                }
            }
        }
        if (sessions != null) sessions.rewindFrom(forkBlock);
        long below = forkBlock - 1;
        BlockRef anchor = below < 0 ? new BlockRef(-1, "0x0") : blockRef(below);
        store.rewind(IngestionStore.COORDINATOR_CURSOR, forkBlock, anchor);
    }

    /** Journals one log (from WS or backfill) and wakes the pipeline; idempotent. */
    private void handle(Log l) {
        if (l.getTopics().isEmpty() || !coordinator.equalsIgnoreCase(l.getAddress())) return;
        String topic = l.getTopics().get(0);
        if (CoordinatorAbi.SESSION_TURN_REQUESTED_TOPIC.equals(topic) || CoordinatorAbi.SESSION_ADVANCED_TOPIC.equals(topic)) {
            if (sessions != null) handleSessionLog(l, topic);
            return;
        }
        if (CoordinatorAbi.INFERENCE_FULFILLED_TOPIC.equals(topic) || CoordinatorAbi.INFERENCE_FAILED_TOPIC.equals(topic)) {
            // topic 2 is the oracle that ended the request: proof of life for the takeover rule (Intake)
            if (l.getTopics().size() > 2) activity.ended("0x" + l.getTopics().get(2).substring(26), System.currentTimeMillis());
            if (CoordinatorAbi.INFERENCE_FAILED_TOPIC.equals(topic)) turnEndedWithoutOutput(l);
            return;
        }
        BigInteger requestId = Numeric.toBigInt(l.getTopics().get(1));
        String id = InferenceSpec.chainId(requestId);
        MDC.put("requestId", id);
        try {
            if (CoordinatorAbi.INFERENCE_CANCELLED_TOPIC.equals(topic)) {
                turnEndedWithoutOutput(l);
                journal.find(id).filter(e -> !e.state().isTerminal())
                        .ifPresent(e -> intake.requestWithdrawn(id, "cancelled by the consumer on-chain"));
                return;
            }
            if (!CoordinatorAbi.INFERENCE_REQUESTED_TOPIC.equals(topic)) return;
            ChainOrigin origin = new ChainOrigin(l.getBlockNumber().longValueExact(), l.getBlockHash(),
                    l.getLogIndex().longValueExact(), l.getTransactionHash());
            InferenceSpec spec;
            try {
                spec = CoordinatorAbi.decodeInferenceRequested(l);
            } catch (RuntimeException undecodable) {
                log.error("InferenceRequested log in tx {} cannot be decoded: {}", l.getTransactionHash(), undecodable.getMessage());
                meters.counter("loracle.chain.undecodable.logs").increment();
                return;
            }
            store.rememberBlock(new BlockRef(origin.blockNumber(), origin.blockHash()));
            if (journal.record(spec, origin)) {
                meters.counter("loracle.requests.ingested").increment();
                log.info("journaled request from block {} ({} adapters, maxTokens {})", origin.blockNumber(),
                        spec.adapters().size(), spec.maxTokens());
                intake.requestJournaled(id);
            } else {
                journal.find(id).ifPresent(e -> reconcile(e, spec, origin));
            }
        } finally {
            MDC.remove("requestId");
        }
    }

    /** SessionTurnRequested / SessionAdvanced: journaled; the end of a turn wakes the session's waiting turns. */
    private void handleSessionLog(Log l, String topic) {
        try {
            if (CoordinatorAbi.SESSION_TURN_REQUESTED_TOPIC.equals(topic)) {
                var e = dev.loracle.contracts.generated.InferenceCoordinator.getSessionTurnRequestedEventFromLog(l);
                sessions.recordRequested(InferenceSpec.chainId(e.sessionId), e.turn.intValueExact(), InferenceSpec.chainId(e.requestId),
                        l.getBlockNumber().longValueExact());
                return;
            }
            var e = dev.loracle.contracts.generated.InferenceCoordinator.getSessionAdvancedEventFromLog(l);
            String sessionId = InferenceSpec.chainId(e.sessionId);
            if (sessions.recordFulfilled(sessionId, e.turn.intValueExact(), InferenceSpec.chainId(e.requestId),
                    Numeric.toHexString(e.head), Numeric.toHexString(e.snapshotCid), l.getTransactionHash(),
                    l.getBlockNumber().longValueExact())) {
                log.info("session {} turn {} fulfilled (request {})", sessionId, e.turn, InferenceSpec.chainId(e.requestId));
                intake.sessionTurnEnded(sessionId);
            }
        } catch (RuntimeException undecodable) {
            log.error("session log in tx {} cannot be decoded: {}", l.getTransactionHash(), undecodable.getMessage());
            meters.counter("loracle.chain.undecodable.logs").increment();
        }
    }

    /** InferenceFailed / InferenceCancelled: when the request is a session turn, the turn ended without an output. */
    private void turnEndedWithoutOutput(Log l) {
        if (sessions == null || l.getTopics().size() < 2) return;
        sessions.recordEnded(InferenceSpec.chainId(Numeric.toBigInt(l.getTopics().get(1))), l.getBlockNumber().longValueExact())
                .ifPresent(t -> intake.sessionTurnEnded(t.sessionId()));
    }

    /**
     * A log for an id we already journaled. Same block: a duplicate (WS + backfill). Same request in another block: it was
     * re-included after a reorg. A different request under the same id (the coordinator's nonce was reorged back and
     * reused) or a request we cancelled as reorged-out that is back: the journal row starts over.
     */
    private void reconcile(JournalEntry existing, InferenceSpec spec, ChainOrigin origin) {
        if (existing.chainOrigin() != null && origin.blockHash().equals(existing.chainOrigin().blockHash())) return;
        boolean sameRequest = existing.spec().equals(spec);
        boolean reorgedOut = existing.state() == dev.loracle.oracle.journal.RequestState.CANCELLED
                && existing.reason() != null && existing.reason().contains("reorged out");
        if (sameRequest && !reorgedOut) {
            journal.updateChainOrigin(spec.id(), origin);
            log.info("request re-included in block {} after a reorg", origin.blockNumber());
            return;
        }
        // a worker still busy with the old content loses its next compare-and-set on the state and lets go
        journal.reopen(spec, origin, sameRequest ? "request back on the canonical chain after a reorg"
                : "request id reused by a different request after a reorg");
        log.warn("journal row reopened for the request now in block {} ({})", origin.blockNumber(),
                sameRequest ? "same request" : "different request, same id");
        intake.requestJournaled(spec.id());
    }

    // ------------------------------------------------------------------ WebSocket

    private String wsUrl() {
        if (!cfg.wsUrl().isBlank()) return cfg.wsUrl();
        URI http = URI.create(cfg.rpcUrls().getFirst());
        return (http.getScheme().equals("https") ? "wss" : "ws") + "://" + http.getAuthority() + (http.getPath() == null ? "" : http.getPath());
    }

    private synchronized void connectWebSocket() {
        if (wsUp) return;
        closeWebSocket();
        String url = wsUrl();
        try {
            WebSocketService service = new WebSocketService(url, false);
            service.connect(m -> { }, err -> markWsDown("socket error: " + err.getMessage()), () -> markWsDown("socket closed"));
            Web3j client = Web3j.build(service);
            ws = service;
            subscription = client.logsNotifications(List.of(coordinator),
                            List.of(CoordinatorAbi.INFERENCE_REQUESTED_TOPIC))
                    .subscribe(n -> onPush(toLog(n.getParams().getResult())), err -> markWsDown("subscription error: " + err.getMessage()));
            if (sessions != null) {
                sessionSubscription = client.logsNotifications(List.of(coordinator), List.of(CoordinatorAbi.SESSION_ADVANCED_TOPIC))
                        .subscribe(n -> onPush(toLog(n.getParams().getResult())), err -> markWsDown("subscription error: " + err.getMessage()));
            }
            wsUp = true;
            log.info("subscribed to coordinator logs over {}", url);
        } catch (Exception e) {
            markWsDown("cannot connect " + url + ": " + e.getMessage());
        }
    }

    private static Log toLog(org.web3j.protocol.websocket.events.Log w) {
        return new Log(false, w.getLogIndex(), w.getTransactionIndex(), w.getTransactionHash(), w.getBlockHash(),
                w.getBlockNumber(), w.getAddress(), w.getData(), null, w.getTopics());
    }

    private void onPush(Log l) {
        // with more than one confirmation the backfill loop acts once the block is deep enough
        if (cfg.confirmations() > 1) return;
        ingesting.lock();
        try {
            handle(l);
        } catch (RuntimeException e) {
            log.warn("pushed log not journaled now ({}); backfill will pick it up", e.getMessage());
        } finally {
            ingesting.unlock();
        }
    }

    private void markWsDown(String why) {
        if (wsUp) log.warn("WebSocket down: {}; backfill polling continues", why);
        wsUp = false;
        meters.counter("loracle.chain.ws.disconnects").increment();
    }

    private synchronized void closeWebSocket() {
        Disposable s = subscription;
        if (s != null) s.dispose();
        Disposable ss = sessionSubscription;
        if (ss != null) ss.dispose();
        sessionSubscription = null;
        WebSocketService w = ws;
        if (w != null) {
            try {
                w.close();
            } catch (RuntimeException ignored) {
                // closing a broken socket
            }
        }
        subscription = null;
        ws = null;
    }

    public void stop() {
        wsUp = true; // no reconnects while stopping
        closeWebSocket();
    }

    public long head() {
        return head.get();
    }

    public boolean webSocketUp() {
        return wsUp;
    }

    public Instant lastTick() {
        return lastTick.get();
    }

    public String lastError() {
        return lastError.get();
    }
}
