package dev.loracle.oracle.session;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Holds session turns that wait for an earlier turn to end. A parked turn is not looked at again (no polling, no RPC)
 * until the chain ingestion journals the end of a turn of its session ({@link #turnEnded}) or its deadline margin
 * comes (it is then dispatched once more, and the intake ends it as it would any late request). After a restart nothing
 * is parked: the recovery sweep dispatches the turn, which parks itself again if it still has to wait.
 */
public class TurnGate {
    private static final Logger log = LoggerFactory.getLogger(TurnGate.class);

    private record Parked(String sessionId, ScheduledFuture<?> deadlineTimer) {
    }

    private final Map<String, Parked> parked = new ConcurrentHashMap<>();
    private final Map<String, Set<String>> bySession = new ConcurrentHashMap<>();
    /** Turn endings seen per session, so a turn that ends between a check and the park is not missed. */
    private final Map<String, Long> endings = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timers;
    private final Clock clock;
    private final Duration deadlineMargin;
    private volatile Consumer<String> dispatch = id -> { };

    public TurnGate(ScheduledExecutorService timers, Clock clock, Duration deadlineMargin) {
        this.timers = timers;
        this.clock = clock;
        this.deadlineMargin = deadlineMargin;
    }

    /** Where a released turn goes (the intake). */
    public void dispatchTo(Consumer<String> dispatch) {
        this.dispatch = dispatch;
    }

    public boolean isParked(String requestId) {
        return parked.containsKey(requestId);
    }

    public int parkedCount() {
        return parked.size();
    }

    /** Read before checking whether a turn must wait; passed to {@link #park}. */
    public long endingsSeen(String sessionId) {
        return endings.getOrDefault(sessionId, 0L);
    }

    /**
     * Parks {@code requestId} until a turn of {@code sessionId} ends or its deadline margin ({@code deadline}: unix s,
     * 0 none). When a turn ended since {@code endingsSeen} was read, it is dispatched again at once instead.
     */
    public synchronized void park(String requestId, String sessionId, long deadline, long endingsSeen, String why) {
        if (endingsSeen(sessionId) != endingsSeen) {
            timers.execute(() -> dispatch.accept(requestId));
            return;
        }
        ScheduledFuture<?> timer = null;
        if (deadline != 0) {
            long delay = Math.max(0, deadline * 1000 - deadlineMargin.toMillis() - clock.millis());
            timer = timers.schedule(() -> release(requestId), delay, TimeUnit.MILLISECONDS);
        }
        Parked previous = parked.put(requestId, new Parked(sessionId, timer));
        if (previous != null && previous.deadlineTimer() != null) previous.deadlineTimer().cancel(false);
        bySession.computeIfAbsent(sessionId, s -> ConcurrentHashMap.newKeySet()).add(requestId);
        log.info("session turn waits: {}", why);
    }

    /** A turn of {@code sessionId} ended on-chain (fulfilled, failed or cancelled): its waiting turns look again. */
    public void turnEnded(String sessionId) {
        Set<String> ids;
        synchronized (this) {
            endings.merge(sessionId, 1L, Long::sum);
            ids = bySession.remove(sessionId);
        }
        if (ids != null) ids.forEach(this::release);
    }

    private void release(String requestId) {
        Parked p = parked.remove(requestId);
        if (p == null) return;
        if (p.deadlineTimer() != null) p.deadlineTimer().cancel(false);
        Set<String> ids = bySession.get(p.sessionId());
        if (ids != null) ids.remove(requestId);
        dispatch.accept(requestId);
    }
}
