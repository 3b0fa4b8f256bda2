package dev.loracle.oracle.pipeline;

import dev.loracle.oracle.TestModels;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loracle.oracle.runtime.RuntimeService;
import dev.loracle.runtime.engine.AttachMode;
import dev.loracle.runtime.engine.GenerationRequest;
import dev.loracle.runtime.engine.GenerationResult;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.engine.TokenListener;
import dev.loracle.runtime.lora.LoraAdapter;
import dev.loracle.runtime.lora.PeftAdapter;
import dev.loracle.runtime.lora.ProjectionKind;
import dev.loracle.runtime.lora.WeightedAdapter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The node's generator over the engine's continuous batch: admission, adapter references, release. */
class BatchedGeneratorTest {
    private RuntimeService runtime;
    private LoraAdapter a;
    private LoraAdapter b;

    @BeforeEach
    void open() {
        InferenceEngine engine = InferenceEngine.open(TestModels.stories260K().withThreads(1));
        runtime = new RuntimeService(engine, AttachMode.UNMERGED, "stories260K", new SimpleMeterRegistry());
        a = PeftAdapter.randomForShape(engine.shape(), 4, 8f, Set.of(ProjectionKind.Q, ProjectionKind.V), 1).toLoraAdapter("a");
        b = PeftAdapter.randomForShape(engine.shape(), 4, 8f, Set.of(ProjectionKind.O), 2).toLoraAdapter("b");
    }

    @AfterEach
    void close() {
        runtime.close();
    }

    private static Generator.Job job(String id, List<WeightedAdapter> set, TokenListener listener, AtomicInteger asked, boolean wanted) {
        return new Generator.Job(id, id + "-set", set, set.stream().map(w -> w.adapter().id()).toList(),
                new GenerationRequest("Once upon a time", 12, 0.8f, 0.9f, 7), listener, () -> {
                    asked.incrementAndGet();
                    return wanted;
                });
    }

    @Test
    void aJobIsAskedBeforeStartOnlyWhenASlotIsFreeAndUnwantedJobsHoldNothing() throws Exception {
        try (BatchedGenerator generator = new BatchedGenerator(runtime, 2, new SimpleMeterRegistry())) {
            CountDownLatch hold = new CountDownLatch(1);
            TokenListener blocked = (t, p) -> {
                try {
                    hold.await(20, TimeUnit.SECONDS); // results are handed on after the tokens: the slot stays taken
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            };
            AtomicInteger asked1 = new AtomicInteger(), asked2 = new AtomicInteger(), asked3 = new AtomicInteger(), asked4 = new AtomicInteger();
            var f1 = generator.submit(job("r1", List.of(new WeightedAdapter(a, 0.5f)), blocked, asked1, true));
            var f2 = generator.submit(job("r2", List.of(new WeightedAdapter(a, -0.5f), new WeightedAdapter(b, 1f)), blocked, asked2, true));
            var f3 = generator.submit(job("r3", List.of(new WeightedAdapter(b, 0.25f)), null, asked3, false));
            var f4 = generator.submit(job("r4", List.of(new WeightedAdapter(b, 0.75f)), null, asked4, true));
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while ((asked1.get() == 0 || asked2.get() == 0) && System.nanoTime() < end) Thread.sleep(10);
            Thread.sleep(200);
            assertThat(asked3.get()).as("two sequences run (max 2): the third is not asked yet").isZero();

            hold.countDown();
            GenerationResult r1 = f1.get(20, TimeUnit.SECONDS);
            f2.get(20, TimeUnit.SECONDS);
            assertThatThrownBy(() -> f3.join()).isInstanceOf(CompletionException.class).hasCauseInstanceOf(Generator.NotStarted.class);
            f4.get(20, TimeUnit.SECONDS);
            assertThat(asked3.get()).isEqualTo(1);
            assertThat(runtime.engine().adapters().references("a")).as("r1 and r2 each hold a until released; one resident copy").isEqualTo(2);
            assertThat(runtime.engine().adapters().references("b")).as("r2 and r4 hold b").isEqualTo(2);
            assertThat(runtime.engine().adapters().size()).isEqualTo(2);
            assertThat(r1.tokens()).isNotEmpty();
            assertThat(runtime.holds("r3-set")).as("an unwanted job takes no adapter references").isFalse();
            assertThat(runtime.holds("r1-set")).as("held until released (confirmation)").isTrue();

            List<String> unloaded = new ArrayList<>();
            runtime.setUnloadListener(unloaded::addAll);
            for (String id : List.of("r1", "r2", "r4")) generator.release(id);
            assertThat(unloaded).containsExactly("r1", "r2", "r4");
            assertThat(runtime.engine().adapters().size()).isZero();
            assertThat(runtime.engine().memory().used()).as("memory back to the base figure").isEqualTo(runtime.engine().memory().baseBytes());
        }
    }

    @Test
    void eachJobEqualsItsSoloRunWhateverRunsBesideIt() throws Exception {
        List<List<WeightedAdapter>> sets = List.of(List.of(new WeightedAdapter(a, 0.5f)), List.of(new WeightedAdapter(b, 1f)),
                List.of(new WeightedAdapter(a, 0.3f), new WeightedAdapter(b, -0.7f)), List.of());
        List<String> solo = new ArrayList<>();
        for (List<WeightedAdapter> set : sets) {
            solo.add(runtime.engine().generate(set, AttachMode.UNMERGED, new GenerationRequest("Once upon a time", 12, 0.8f, 0.9f, 7), null).text());
        }
        try (BatchedGenerator generator = new BatchedGenerator(runtime, 8, new SimpleMeterRegistry())) {
            List<CompletableFuture<GenerationResult>> results = new ArrayList<>();
            for (int i = 0; i < sets.size(); i++) results.add(generator.submit(job("q" + i, sets.get(i), null, new AtomicInteger(), true)));
            for (int i = 0; i < sets.size(); i++) {
                assertThat(results.get(i).get(20, TimeUnit.SECONDS).text()).as("job %d", i).isEqualTo(solo.get(i));
                generator.release("q" + i);
            }
        }
        assertThat(runtime.engine().memory().used()).isEqualTo(runtime.engine().memory().baseBytes());
    }
}
