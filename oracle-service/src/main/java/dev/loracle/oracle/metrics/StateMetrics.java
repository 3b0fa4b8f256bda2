package dev.loracle.oracle.metrics;

import dev.loracle.oracle.journal.JournalEntry;
import dev.loracle.oracle.journal.RequestJournal;
import dev.loracle.oracle.journal.RequestState;
import dev.loracle.oracle.journal.TransitionListener;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.stereotype.Component;

import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;

/**
 * Request metrics from the journal: a counter per transition target, a gauge per state (journal counts, cached 1 s),
 * and stage latencies from the journal timings. Also logs each transition (with the request id in the MDC).
 */
@Component
public class StateMetrics implements TransitionListener {
    private static final Logger log = LoggerFactory.getLogger(StateMetrics.class);

    private final MeterRegistry meters;
    private final ObjectProvider<RequestJournal> journal;
    private volatile Map<RequestState, Long> counts = new EnumMap<>(RequestState.class);
    private volatile long countsAt;

    public StateMetrics(MeterRegistry meters, ObjectProvider<RequestJournal> journal) {
        this.meters = meters;
        this.journal = journal;
        for (RequestState s : RequestState.values()) {
            Gauge.builder("loracle.requests", this, m -> m.count(s)).tag("state", s.name())
                    .description("requests in the journal by state").register(meters);
        }
    }

    private synchronized double count(RequestState s) {
        long now = System.currentTimeMillis();
        if (now - countsAt > 1000) {
            try {
                counts = journal.getObject().countByState();
                countsAt = now;
            } catch (RuntimeException e) {
                return Double.NaN;
            }
        }
        return counts.getOrDefault(s, 0L);
    }

    @Override
    public void onTransition(JournalEntry e, RequestState from) {
        meters.counter("loracle.requests.transitions", "to", e.state().name()).increment();
        log.debug("{} -> {}", from, e.state());
        var t = e.timings();
        switch (e.state()) {
            case RUNNING -> stage("fetch", t.fetchStartedAt(), t.runStartedAt());
            case SUBMITTED -> stage("run", t.runStartedAt(), t.submittedAt());
            case CONFIRMED -> stage("submitted-to-confirmed", t.submittedAt(), t.confirmedAt());
            case UNLOADED -> {
                stage("confirmed-to-unloaded", t.confirmedAt(), t.unloadedAt());
                stage("total", t.seenAt(), t.unloadedAt());
            }
            default -> { }
        }
    }

    private void stage(String name, Long from, Long to) {
        if (from != null && to != null && to >= from) {
            meters.timer("loracle.journal.stage", "stage", name).record(Duration.ofMillis(to - from));
        }
    }
}
