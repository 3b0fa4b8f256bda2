package dev.loracle.oracle.it;

import dev.loracle.contracts.NumericProfile;
import dev.loracle.contracts.SessionHead;
import dev.loracle.contracts.devchain.DevChainDeployer;
import dev.loracle.contracts.devchain.TransactionManagers;
import dev.loracle.contracts.generated.ChatBot;
import dev.loracle.contracts.generated.InferenceCoordinator;
import dev.loracle.ipfs.Cid;
import dev.loracle.oracle.TestDatabases;
import dev.loracle.oracle.devstack.CoordinatorEvents;
import dev.loracle.oracle.journal.InferenceSpec;
import dev.loracle.oracle.journal.JournalEntry;
import dev.loracle.oracle.journal.RequestState;
import dev.loracle.oracle.journal.TxJournal;
import dev.loracle.oracle.journal.TxRecord;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.lora.PeftAdapter;
import dev.loracle.runtime.lora.WeightedAdapter;
import dev.loracle.runtime.tokenizer.Tokenizer;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.web3j.protocol.core.methods.response.TransactionReceipt;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Session turns served by a real node (in-process) on a real Anvil with the real IPFS node and stories260K: a
 * {@code ChatBot} conversation whose messages are all sent at once (so later turns wait for earlier ones), and
 * turns that must fail (CHAT format, a history too long for the context) with a refund, the session going on after.
 */
class SessionTurnsIT {
    private static final Set<RequestState> ENDED = Set.of(RequestState.UNLOADED, RequestState.FAILED, RequestState.CANCELLED,
            RequestState.EXPIRED);

    @TempDir
    Path cacheDir;

    @Test
    void chatBotTurnsWaitForEachOtherAndContinueTheCanonicalHistoryWithPrefixReuse() throws Exception {
        LocalStack stack = LocalStack.get();
        Cid persona = stack.adapterCids().get(0);
        List<String> messages = List.of("Once upon a time", "\nTom said:", " The sun came out.", "\nThen");
        int maxTokens = 24;
        try (LocalStack.Chain chain = new LocalStack.Chain(null, stack);
             TestDatabases.Db db = TestDatabases.create(TestDatabases.Kind.H2);
             OracleNode node = OracleNode.start(OracleNode.properties(stack, chain, db, cacheDir))) {
            var tx = TransactionManagers.fastPolling(chain.anvil.web3j(), LocalStack.CONSUMER, chain.anvil.chainId());
            ChatBot bot = ChatBot.deploy(chain.anvil.web3j(), tx, DevChainDeployer.DEV_GAS, chain.deployment.coordinator()).send();
            TransactionReceipt started = bot.startChat(chain.modelId(), List.of(new ChatBot.Adapter(persona.toBytes(),
                    BigInteger.valueOf(5_000))), BigInteger.valueOf(42)).send();
            BigInteger sessionId = InferenceCoordinator.getSessionOpenedEvents(started).getFirst().sessionId;
            BigInteger fee = bot.quoteMessage(chain.modelId(), BigInteger.ONE, BigInteger.valueOf(maxTokens)).send();

            List<String> ids = new ArrayList<>();
            for (String m : messages) { // all at once: turn k waits until turn k-1 is fulfilled on-chain
                TransactionReceipt r = bot.say(m, BigInteger.valueOf(maxTokens), fee).send();
                ids.add(InferenceSpec.chainId(InferenceCoordinator.getInferenceRequestedEvents(r).getFirst().requestId));
            }
            List<JournalEntry> done = new ArrayList<>();
            for (String id : ids) done.add(node.awaitState(id, ENDED, Duration.ofSeconds(120)));

            SessionReference.Replay expected;
            try (InferenceEngine engine = stack.openEngine()) {
                expected = SessionReference.replay(engine, List.of(new WeightedAdapter(PeftAdapter.load(stack.adapters.get(persona),
                                engine.adapterLoadOptions()), 0.5f)), LocalStack.ATTACH_MODE, messages, maxTokens, 7_000, 9_000, 42);
            }
            var conversation = bot.conversation(LocalStack.CONSUMER.getAddress()).send();
            CoordinatorEvents events = new CoordinatorEvents(chain.anvil.web3j(), chain.deployment.coordinator(), chain.deployment.deployBlock());
            for (int k = 0; k < messages.size(); k++) {
                JournalEntry e = done.get(k);
                assertThat(e.state()).as("turn %d: %s", k, e.reason()).isEqualTo(RequestState.UNLOADED);
                assertThat(conversation.component3().get(k)).as("turn %d reply = full recompute of the canonical history", k)
                        .isEqualTo(expected.replies().get(k));
                assertThat(events.outcomes(new BigInteger(e.id().substring(2), 16))).as("turn %d ended once", k).hasSize(1);
                assertThat(node.bean(TxJournal.class).forRequest(e.id()).stream().filter(t -> t.kind() == TxRecord.TxKind.FULFIL))
                        .as("one fulfilTurn sent").hasSize(1);
                if (k > 0) {
                    assertThat(e.timings().runStartedAt()).as("turn %d generated only after turn %d was sent", k, k - 1)
                            .isGreaterThanOrEqualTo(done.get(k - 1).timings().submittedAt());
                }
            }
            List<InferenceCoordinator.Adapter> adapters = List.of(new InferenceCoordinator.Adapter(persona.toBytes(), BigInteger.valueOf(5_000)));
            assertThat(chain.coordinator.sessionHeads(sessionId).send()).as("the head commits to the canonical tokens")
                    .isEqualTo(SessionHead.compute(NumericProfile.DEV_DEFAULT.toString(), adapters, expected.tokensAfter().getLast()));
            MeterRegistry meters = node.bean(MeterRegistry.class);
            double reused = meters.counter("loracle.session.prompt.tokens.reused").count();
            double computed = meters.counter("loracle.session.prompt.tokens.computed").count();
            var publish = meters.timer("loracle.session.fulfilment.publish");
            var generate = meters.timer("loracle.stage.latency", "stage", "generate");
            System.out.printf("[it] session on one node: %d turns, prompt tokens reused %.0f, computed %.0f; publish on the fulfilment"
                            + " path mean %.2f ms max %.2f ms (%d turns) vs generation mean %.1f ms%n", messages.size(), reused, computed,
                    publish.mean(java.util.concurrent.TimeUnit.MILLISECONDS), publish.max(java.util.concurrent.TimeUnit.MILLISECONDS),
                    publish.count(), generate.mean(java.util.concurrent.TimeUnit.MILLISECONDS));
            assertThat(publish.count()).as("every turn published through the exchange").isEqualTo(messages.size());
            assertThat(reused).as("later turns prefill only their new tokens (prefix cache)").isGreaterThan(0);
        }
    }

    @Test
    void chatAndOverlongTurnsFailWithARefundAndTheSessionGoesOn() throws Exception {
        LocalStack stack = LocalStack.get();
        Cid cid = stack.adapterCids().get(1);
        List<InferenceCoordinator.Adapter> adapters = List.of(new InferenceCoordinator.Adapter(cid.toBytes(), BigInteger.valueOf(10_000)));
        try (LocalStack.Chain chain = new LocalStack.Chain(null, stack);
             TestDatabases.Db db = TestDatabases.create(TestDatabases.Kind.H2);
             OracleNode node = OracleNode.start(OracleNode.properties(stack, chain, db, cacheDir))) {
            TransactionReceipt opened = chain.coordinator.openSession(chain.modelId(), adapters, BigInteger.ZERO,
                    BigInteger.valueOf(10_000), BigInteger.valueOf(7)).send();
            BigInteger sessionId = InferenceCoordinator.getSessionOpenedEvents(opened).getFirst().sessionId;

            Tokenizer tokenizer;
            try (InferenceEngine engine = stack.openEngine()) {
                tokenizer = engine.tokenizer();
            }
            String first = "Once upon a time there was a little girl named Lily.";
            StringBuilder longPrompt = new StringBuilder();
            while (tokenizer.encodePrompt(longPrompt.toString()).length < 300) longPrompt.append(" and then the dog ran");
            // alone it fits (prompt + 190 <= 512); after the first turn's prompt and output it cannot
            int longMax = 512 - tokenizer.encodePrompt(longPrompt.toString()).length - 2;
            assertThat(tokenizer.encodePrompt(first).length + tokenizer.encodeContinuation(longPrompt.toString(), true).length + longMax)
                    .isGreaterThan(512);

            String t0 = turn(chain, sessionId, adapters, first, 0, 16);
            String t1 = turn(chain, sessionId, adapters, "[{\"role\":\"user\",\"content\":\"Hi\"}]", 1, 8);
            String t2 = turn(chain, sessionId, adapters, longPrompt.toString(), 0, longMax);
            String t3 = turn(chain, sessionId, adapters, " The end.", 0, 8);

            assertThat(node.awaitState(t0, ENDED, Duration.ofSeconds(60)).state()).isEqualTo(RequestState.UNLOADED);
            JournalEntry chat = node.awaitState(t1, ENDED, Duration.ofSeconds(60));
            assertThat(chat.state()).isEqualTo(RequestState.FAILED);
            assertThat(chat.failureCode()).isEqualTo(5);
            assertThat(chat.reason()).contains("CHAT-format session turns are not served");
            JournalEntry overflow = node.awaitState(t2, ENDED, Duration.ofSeconds(60));
            assertThat(overflow.state()).isEqualTo(RequestState.FAILED);
            assertThat(overflow.failureCode()).isEqualTo(6);
            assertThat(overflow.reason()).contains("session history of").contains("exceeds the context of 512");
            JournalEntry last = node.awaitState(t3, ENDED, Duration.ofSeconds(60));
            assertThat(last.state()).as("the session goes on after failed turns: %s", last.reason()).isEqualTo(RequestState.UNLOADED);

            CoordinatorEvents events = new CoordinatorEvents(chain.anvil.web3j(), chain.deployment.coordinator(), chain.deployment.deployBlock());
            for (String id : List.of(t1, t2)) {
                BigInteger requestId = new BigInteger(id.substring(2), 16);
                awaitOutcome(events, requestId);
                assertThat(events.outcomes(requestId).getFirst().fulfilled()).isFalse();
                assertThat(chain.coordinator.isPending(requestId).send()).isFalse();
            }
            BigInteger fee1 = chain.coordinator.quoteFee(chain.modelId(), BigInteger.ONE, BigInteger.valueOf(8), BigInteger.valueOf(100_000)).send();
            BigInteger fee2 = chain.coordinator.quoteFee(chain.modelId(), BigInteger.ONE, BigInteger.valueOf(longMax), BigInteger.valueOf(100_000)).send();
            assertThat(chain.coordinator.credits(LocalStack.CONSUMER.getAddress()).send()).as("both failed turns refunded")
                    .isEqualTo(fee1.add(fee2));
        }
    }

    @Test
    void aTurnBehindAnUnservedOneWaitsWithoutWorkAndExpiresAtItsDeadline() throws Exception {
        LocalStack stack = LocalStack.get();
        Cid cid = stack.adapterCids().get(2);
        List<InferenceCoordinator.Adapter> adapters = List.of(new InferenceCoordinator.Adapter(cid.toBytes(), BigInteger.valueOf(10_000)));
        String other = dev.loracle.contracts.devchain.DevAccounts.get(7).getAddress(); // registered, never started
        try (LocalStack.Chain chain = new LocalStack.Chain(null, stack,
                c -> c.withOracles(List.of(LocalStack.ORACLE.getAddress(), other)).withExclusiveWindow(120L));
             TestDatabases.Db db = TestDatabases.create(TestDatabases.Kind.H2);
             OracleNode node = OracleNode.start(OracleNode.properties(stack, chain, db, cacheDir))) {
            TransactionReceipt opened = chain.coordinator.openSession(chain.modelId(), adapters, BigInteger.ZERO,
                    BigInteger.valueOf(10_000), BigInteger.valueOf(7)).send();
            BigInteger sessionId = InferenceCoordinator.getSessionOpenedEvents(opened).getFirst().sessionId;
            // turns until one is assigned to the other oracle: it is left to it for its 120 s window
            String blocking = null;
            for (int k = 0; k < 4 && blocking == null; k++) {
                String id = turn(chain, sessionId, adapters, " turn " + k, 0, 4);
                JournalEntry e = node.awaitState(id, Set.of(RequestState.values()), Duration.ofSeconds(20));
                if (e.spec().assignedOracle().equalsIgnoreCase(other)) blocking = id;
                else assertThat(node.awaitState(id, ENDED, Duration.ofSeconds(60)).state()).isEqualTo(RequestState.UNLOADED);
            }
            assertThat(blocking).as("a turn assigned to the other oracle").isNotNull();
            long deadline = System.currentTimeMillis() / 1000 + 10;
            String waiting = turn(chain, sessionId, adapters, " and then?", 0, 4, deadline);
            MeterRegistry meters = node.bean(MeterRegistry.class);
            long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (meters.get("loracle.session.turns.waiting").gauge().value() < 1 && System.nanoTime() < end) Thread.sleep(50);
            assertThat(meters.get("loracle.session.turns.waiting").gauge().value()).as("the turn is parked").isEqualTo(1);
            assertThat(node.bean(dev.loracle.oracle.journal.RequestJournal.class).get(waiting).state()).isEqualTo(RequestState.RECEIVED);

            JournalEntry expired = node.awaitState(waiting, ENDED, Duration.ofSeconds(30));
            assertThat(expired.state()).isEqualTo(RequestState.EXPIRED);
            assertThat(expired.reason()).contains("deadline");
            assertThat(expired.timings().finishedAt()).as("ended at its deadline margin (2 s), not before")
                    .isGreaterThanOrEqualTo(deadline * 1000 - 2_000);
            assertThat(expired.timings().runStartedAt()).as("never generated").isNull();
            assertThat(node.bean(TxJournal.class).forRequest(waiting)).as("nothing sent").isEmpty();
            assertThat(node.bean(dev.loracle.oracle.journal.RequestJournal.class).get(blocking).state())
                    .as("the unserved turn is still left to its oracle").isEqualTo(RequestState.RECEIVED);
            assertThat(meters.get("loracle.session.turns.waiting").gauge().value()).isZero();
        }
    }

    private static String turn(LocalStack.Chain chain, BigInteger sessionId, List<InferenceCoordinator.Adapter> adapters, String prompt,
                               int format, int maxTokens) throws Exception {
        return turn(chain, sessionId, adapters, prompt, format, maxTokens, System.currentTimeMillis() / 1000 + 600);
    }

    private static String turn(LocalStack.Chain chain, BigInteger sessionId, List<InferenceCoordinator.Adapter> adapters, String prompt,
                               int format, int maxTokens, long deadline) throws Exception {
        BigInteger cbGas = BigInteger.valueOf(100_000);
        BigInteger fee = chain.coordinator.quoteFee(chain.modelId(), BigInteger.valueOf(adapters.size()), BigInteger.valueOf(maxTokens), cbGas).send();
        TransactionReceipt r = chain.coordinator.requestTurn(sessionId, adapters, prompt.getBytes(StandardCharsets.UTF_8),
                BigInteger.valueOf(format), BigInteger.valueOf(maxTokens), cbGas, BigInteger.valueOf(deadline), fee).send();
        assertThat(r.isStatusOK()).as("requestTurn: %s", r.getRevertReason()).isTrue();
        return InferenceSpec.chainId(InferenceCoordinator.getInferenceRequestedEvents(r).getFirst().requestId);
    }

    private static void awaitOutcome(CoordinatorEvents events, BigInteger requestId) throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (events.outcomes(requestId).isEmpty() && System.nanoTime() < end) Thread.sleep(100);
        assertThat(events.outcomes(requestId)).as("an outcome for %s", requestId).hasSize(1);
    }
}
