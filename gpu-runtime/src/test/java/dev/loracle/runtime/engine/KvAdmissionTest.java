package dev.loracle.runtime.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.runtime.memory.MemoryCategory;
import dev.loracle.runtime.memory.RedLineExceededException;
import dev.loracle.runtime.model.TestModels;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Paged KV admission: a sequence starts only when its worst-case blocks fit under the red line; otherwise it waits for
 * blocks to come back (WAIT) or fails with a clear error (FAIL_FAST); blocks return when it ends or is cancelled.
 */
class KvAdmissionTest {
    /** stories260K: 5 layers x kvDim 32, F32 keys and values, 16 positions per block. */
    private static final long BLOCK = 2L * 5 * 16 * 32 * 4;

    /** An engine whose red line leaves room for {@code blocks} KV blocks above the base. */
    private static InferenceEngine engineWithRoomFor(int blocks) {
        long base;
        try (InferenceEngine probe = AdapterLifecycleTest.open(TestModels.ggufF32(), dev.loracle.runtime.model.WeightFormat.AS_FILE)) {
            base = probe.memory().baseBytes();
        }
        return InferenceEngine.open(EngineConfig.of(TestModels.ggufF32()).withThreads(2).withBackend(BackendKind.CPU)
                .withRedLineBytes(base + blocks * BLOCK));
    }

    /** 40 prompt-plus-generated positions: 3 blocks. */
    private static SequenceRequest threeBlocks(TokenListener l, Admission a) {
        return SequenceRequest.of(GenerationRequest.greedy("Once upon a time", 35)).withIgnoreEos(true).withListener(l).withAdmission(a);
    }

    /** A listener that, at the first token, says so and holds the scheduler until the test has submitted the next one. */
    private static final class Gate implements TokenListener {
        final CountDownLatch started = new CountDownLatch(1), submitted = new CountDownLatch(1);

        @Override
        public void onToken(int token, String piece) {
            started.countDown();
            try {
                submitted.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Test
    void failFastIsRefusedWhileTheBlocksAreTakenAndWaitRunsAfterwards() throws Exception {
        try (InferenceEngine e = engineWithRoomFor(4)) {
            long base = e.memory().baseBytes();
            Gate gate = new Gate();
            Sequence first = e.submit(threeBlocks(gate, Admission.WAIT));
            assertTrue(gate.started.await(10, TimeUnit.SECONDS));
            assertEquals(3 * BLOCK, e.memory().used(MemoryCategory.KV_CACHE), "worst-case blocks reserved at admission");
            Sequence refused = e.submit(threeBlocks(null, Admission.FAIL_FAST));
            Sequence waits = e.submit(threeBlocks(null, Admission.WAIT));
            gate.submitted.countDown();
            ExecutionException ex = assertThrows(ExecutionException.class, () -> refused.result().get(10, TimeUnit.SECONDS));
            RedLineExceededException red = assertInstanceOf(RedLineExceededException.class, ex.getCause());
            assertEquals(MemoryCategory.KV_CACHE, red.category());
            assertTrue(red.getMessage().contains("red line"), red.getMessage());
            assertEquals(35, first.result().get(10, TimeUnit.SECONDS).tokens().length);
            assertEquals(35, waits.result().get(10, TimeUnit.SECONDS).tokens().length, "the waiting sequence ran once blocks came back");
            assertEquals(base, e.memory().used(), "all blocks returned");
        }
    }

    @Test
    void aSequenceThatCanNeverFitFailsEvenWhenAskedToWait() {
        try (InferenceEngine e = engineWithRoomFor(2)) {
            Sequence s = e.submit(threeBlocks(null, Admission.WAIT));
            ExecutionException ex = assertThrows(ExecutionException.class, () -> s.result().get(10, TimeUnit.SECONDS));
            assertInstanceOf(RedLineExceededException.class, ex.getCause());
            assertEquals(e.memory().baseBytes(), e.memory().used());
        }
    }

    @Test
    void cancellingGivesTheBlocksBack() throws Exception {
        try (InferenceEngine e = engineWithRoomFor(4)) {
            Gate gate = new Gate();
            Sequence s = e.submit(threeBlocks(gate, Admission.WAIT));
            assertTrue(gate.started.await(10, TimeUnit.SECONDS));
            s.cancel();
            gate.submitted.countDown();
            assertThrows(CancellationException.class, () -> {
                try {
                    s.result().get(10, TimeUnit.SECONDS);
                } catch (ExecutionException x) {
                    throw x.getCause();
                }
            });
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (e.memory().used() != e.memory().baseBytes() && System.nanoTime() < deadline) Thread.onSpinWait();
            assertEquals(e.memory().baseBytes(), e.memory().used(), "blocks of the cancelled sequence returned");
            assertFalse(s.result().isDone() && !s.result().isCompletedExceptionally());
            // and the engine goes on serving
            assertEquals(3, e.generate(null, GenerationRequest.greedy("Once upon a time", 3), null).tokens().length);
        }
    }
}
