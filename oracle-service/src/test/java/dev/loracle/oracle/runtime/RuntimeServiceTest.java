package dev.loracle.oracle.runtime;

import dev.loracle.oracle.TestModels;
import static org.assertj.core.api.Assertions.assertThat;

import dev.loracle.runtime.engine.AttachMode;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.lora.LoraAdapter;
import dev.loracle.runtime.lora.PeftAdapter;
import dev.loracle.runtime.lora.ProjectionKind;
import dev.loracle.runtime.lora.WeightedAdapter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Per-adapter resident bytes: a gauge per CID while some request holds the adapter, gone when the last one releases it. */
class RuntimeServiceTest {
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private InferenceEngine engine;
    private RuntimeService runtime;
    private LoraAdapter a;
    private LoraAdapter b;

    @BeforeEach
    void open() {
        engine = InferenceEngine.open(TestModels.stories260K().withThreads(1));
        runtime = new RuntimeService(engine, AttachMode.UNMERGED, "stories260K", meters);
        a = PeftAdapter.randomForShape(engine.shape(), 4, 8f, Set.of(ProjectionKind.Q, ProjectionKind.V), 1).toLoraAdapter("cid-a");
        b = PeftAdapter.randomForShape(engine.shape(), 16, 8f, Set.of(ProjectionKind.O), 2).toLoraAdapter("cid-b");
    }

    @AfterEach
    void close() {
        runtime.close();
    }

    private Gauge gauge(String cid) {
        return meters.find("loracle.adapter.resident.bytes").tag("cid", cid).gauge();
    }

    @Test
    void aGaugePerResidentAdapterThatLeavesWithItsLastHolder() {
        assertThat(meters.find("loracle.adapter.resident.bytes").gauges()).isEmpty();
        runtime.hold("r1", "set-ab", List.of(new WeightedAdapter(a, 0.5f), new WeightedAdapter(b, 1f)), List.of("cid-a", "cid-b"));
        runtime.hold("r2", "set-a", List.of(new WeightedAdapter(a, 0.25f)), List.of("cid-a"));

        long bytesA = engine.adapters().residentBytes("cid-a"), bytesB = engine.adapters().residentBytes("cid-b");
        assertThat(bytesA).isPositive();
        assertThat(bytesB).isGreaterThan(bytesA); // rank 16 on O vs rank 4 on Q and V
        assertThat(gauge("cid-a").value()).isEqualTo(bytesA);
        assertThat(gauge("cid-b").value()).isEqualTo(bytesB);
        assertThat(meters.find("loracle.adapter.resident.bytes").gauges()).hasSize(2);
        assertThat(bytesA + bytesB).as("the per-adapter figures add up to everything above the base")
                .isEqualTo(engine.memory().used() - engine.memory().baseBytes());

        runtime.release("r1");
        assertThat(gauge("cid-b")).as("b's only holder released it").isNull();
        assertThat(gauge("cid-a").value()).as("r2 still holds a").isEqualTo(bytesA);
        assertThat(engine.adapters().residentBytes("cid-b")).isZero();

        runtime.release("r2");
        assertThat(meters.find("loracle.adapter.resident.bytes").gauges()).isEmpty();
        assertThat(engine.memory().used()).isEqualTo(engine.memory().baseBytes());

        runtime.hold("r3", "set-b", List.of(new WeightedAdapter(b, 1f)), List.of("cid-b"));
        assertThat(gauge("cid-b").value()).as("registered again on the next upload").isEqualTo(bytesB);
    }
}
