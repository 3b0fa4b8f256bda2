package dev.loracle.oracle.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loracle.contracts.ResultCommitment;
import dev.loracle.oracle.TestDatabases;
import dev.loracle.oracle.chain.CoordinatorClient;
import dev.loracle.oracle.config.OracleProperties;
import dev.loracle.oracle.journal.AdapterSpec;
import dev.loracle.oracle.journal.InferenceSpec;
import dev.loracle.oracle.journal.RequestJournal;
import dev.loracle.oracle.journal.RequestOrigin;
import dev.loracle.oracle.journal.RequestState;
import dev.loracle.oracle.journal.TransitionListener;
import dev.loracle.oracle.journal.TxJournal;
import dev.loracle.runtime.engine.GenerationResult;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.support.StaticListableBeanFactory;
import org.springframework.jdbc.core.simple.JdbcClient;

import java.math.BigInteger;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The check right before a generation starts: a request that another oracle served while it waited for its turn is
 * not generated (and not counted); a request assigned to this node inside its exclusive window needs no RPC. And the
 * input of the takeover rule: whether this node is busy without a measured pace of its own.
 */
class GenerationSchedulerTest {
    private static final String US = "0x" + "aa".repeat(20);
    private static final String OTHER = "0x" + "bb".repeat(20);

    private TestDatabases.Db db;

    @AfterEach
    void drop() {
        if (db != null) db.close();
    }

    /** The coordinator as this test wants it: isPending answers from a set, and every call is counted. */
    static final class FakeChain extends CoordinatorClient {
        final Set<BigInteger> pending = new java.util.HashSet<>();
        int calls;

        FakeChain() {
            super(null);
        }

        @Override
        public String oracleAddress() {
            return US;
        }

        @Override
        public boolean isPending(BigInteger requestId) {
            calls++;
            return pending.contains(requestId);
        }
    }

    /** Holds submitted jobs; the test decides when their turn comes. */
    static final class HeldGenerator implements Generator {
        final List<Job> jobs = new ArrayList<>();
        final List<CompletableFuture<GenerationResult>> results = new ArrayList<>();

        @Override
        public CompletableFuture<GenerationResult> submit(Job job) {
            jobs.add(job);
            CompletableFuture<GenerationResult> f = new CompletableFuture<>();
            results.add(f);
            return f;
        }

        @Override
        public void release(String requestId) {
        }

        @Override
        public boolean resident(String adapterSetKey) {
            return false;
        }

        @Override
        public int queued() {
            return jobs.size();
        }

        @Override
        public void close() {
        }
    }

    private record Fixture(RequestJournal journal, FakeChain chain, SimpleMeterRegistry meters, PipelineContext ctx,
                           HeldGenerator generator, GenerationScheduler scheduler) {}

    private Fixture fixture() {
        db = TestDatabases.create(TestDatabases.Kind.H2);
        db.migrate();
        RequestJournal journal = new RequestJournal(JdbcClient.create(db.dataSource()), Clock.systemUTC(),
                new StaticListableBeanFactory().getBeanProvider(TransitionListener.class));
        FakeChain chain = new FakeChain();
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        PipelineContext ctx = new PipelineContext(journal, new TxJournal(JdbcClient.create(db.dataSource()), Clock.systemUTC()),
                chain, new ResultCommitment.ModelBinding(new byte[32], "quant=F32;attach=UNMERGED;kv=F32"), Set.of("0x" + "11".repeat(32)),
                new OracleProperties.Scheduler(16, 4, 1, Duration.ofSeconds(1), Duration.ofSeconds(1)), Clock.systemUTC(), meters,
                new InFlight(), new AtomicBoolean(true), new AtomicBoolean(false));
        HeldGenerator generator = new HeldGenerator();
        Outcomes outcomes = new Outcomes(ctx);
        GenerationScheduler scheduler = new GenerationScheduler(ctx, generator, outcomes, new FulfilmentSubmitter(ctx, generator, outcomes));
        return new Fixture(journal, chain, meters, ctx, generator, scheduler);
    }

    @Test
    void aSilentAssigneeIsNotJudgedWhileThisNodeIsOnItsFirstGenerations() {
        Fixture f = fixture();
        assertThat(f.scheduler().busyWithoutPace()).as("idle: a silent assignee may be replaced").isFalse();
        InferenceSpec ours = queued(f.journal(), f.ctx(), f.scheduler(), 1, US, System.currentTimeMillis() / 1000 + 60);
        assertThat(f.scheduler().busyWithoutPace()).as("first generation under way, pace unknown").isTrue();
        f.generator().results.getFirst().completeExceptionally(new Generator.NotStarted(ours.id()));
        assertThat(f.scheduler().busyWithoutPace()).as("nothing under way any more").isFalse();
    }

    @Test
    void aRequestServedElsewhereWhileQueuedIsNotGenerated() {
        Fixture f = fixture();
        RequestJournal journal = f.journal();
        FakeChain chain = f.chain();
        SimpleMeterRegistry meters = f.meters();
        PipelineContext ctx = f.ctx();
        HeldGenerator generator = f.generator();
        GenerationScheduler scheduler = f.scheduler();
        long now = System.currentTimeMillis() / 1000;

        InferenceSpec otherOracles = queued(journal, ctx, scheduler, 1, OTHER, now - 10);   // window over: anyone may serve it
        InferenceSpec oursInWindow = queued(journal, ctx, scheduler, 2, US, now + 60);      // only we may serve it now
        InferenceSpec oursLate = queued(journal, ctx, scheduler, 3, US, now - 10);
        chain.pending.add(oursInWindow.requestId()); // requests 1 and 3 were fulfilled by another oracle meanwhile

        List<Boolean> started = generator.jobs.stream().map(j -> j.beforeStart().getAsBoolean()).toList();

        assertThat(started).containsExactly(false, true, false);
        assertThat(chain.calls).as("isPending asked for the two requests another oracle may serve, not for ours in its window")
                .isEqualTo(2);
        assertThat(journal.get(otherOracles.id()).state()).isEqualTo(RequestState.CANCELLED);
        assertThat(journal.get(otherOracles.id()).reason()).contains("not generated");
        assertThat(journal.get(oursLate.id()).state()).isEqualTo(RequestState.CANCELLED);
        assertThat(journal.get(oursInWindow.id()).state()).isEqualTo(RequestState.RUNNING);
        assertThat(meters.counter("loracle.generations").count()).isEqualTo(1);
        generator.results.get(0).completeExceptionally(new Generator.NotStarted(otherOracles.id()));
        assertThat(ctx.inFlight().contains(otherOracles.id())).as("a dropped job leaves the node's hands").isFalse();
    }

    private static InferenceSpec queued(RequestJournal journal, PipelineContext ctx, GenerationScheduler scheduler, long n,
                                        String assigned, long exclusiveUntil) {
        InferenceSpec spec = new InferenceSpec(InferenceSpec.chainId(BigInteger.valueOf(n)), RequestOrigin.CHAIN, OTHER,
                "0x" + "11".repeat(32), List.of(new AdapterSpec(new byte[] {1, 0x55, 0x12, 0x20, (byte) n}, 10_000)),
                "Once".getBytes(), 4, 0, 10_000, BigInteger.ONE, 100_000, exclusiveUntil + 3600, BigInteger.ONE, assigned,
                exclusiveUntil);
        journal.record(spec, null);
        journal.transition(spec.id(), RequestState.RECEIVED, RequestState.FETCHING, null);
        ctx.inFlight().begin(spec.id());
        scheduler.schedule(new Intake.Prepared(spec.id(), spec, "Once", List.of(), List.of()));
        return spec;
    }
}
