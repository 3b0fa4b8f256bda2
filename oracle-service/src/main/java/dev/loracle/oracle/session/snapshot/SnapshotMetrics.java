package dev.loracle.oracle.session.snapshot;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.Locale;

/** The exchange's meters ({@code loracle.session.*}), as named in the seam. */
final class SnapshotMetrics {
    private final MeterRegistry meters;
    final Counter published;
    final Counter uploaded;
    final Counter uploadFailed;
    final Counter reused;
    final Counter fetchedBytes;
    final DistributionSummary snapshotBytes;
    /** Time {@code publish} takes on the serving node's critical path (capture, sign, encode, CID). */
    final Timer publishTime;

    SnapshotMetrics(MeterRegistry meters) {
        this.meters = meters;
        published = meters.counter("loracle.session.snapshot.published");
        uploaded = meters.counter("loracle.session.snapshot.uploaded");
        uploadFailed = meters.counter("loracle.session.snapshot.upload.failed");
        reused = meters.counter("loracle.session.snapshot.reused");
        fetchedBytes = meters.counter("loracle.session.snapshot.fetched.bytes");
        snapshotBytes = DistributionSummary.builder("loracle.session.snapshot.bytes").baseUnit("bytes").register(meters);
        publishTime = Timer.builder("loracle.session.snapshot.publish").register(meters);
    }

    void rejected(String reason) {
        meters.counter("loracle.session.snapshot.rejected", "reason", reason.toLowerCase(Locale.ROOT)).increment();
    }

    void skipped(String reason) {
        meters.counter("loracle.session.snapshot.skipped", "reason", reason).increment();
    }

    void resumed(ResumeOutcome.Source source) {
        meters.counter("loracle.session.resume", "source", source.name().toLowerCase(Locale.ROOT)).increment();
    }
}
