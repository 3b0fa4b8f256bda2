package dev.loracle.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.contracts.NumericProfile;
import dev.loracle.contracts.SessionHead;
import dev.loracle.contracts.devchain.DevChainDeployer;
import dev.loracle.contracts.generated.ChatBot;
import dev.loracle.contracts.generated.InferenceCoordinator;
import dev.loracle.ipfs.Cid;
import dev.loracle.oracle.devstack.CoordinatorEvents;
import dev.loracle.oracle.devstack.OracleProcess;
import dev.loracle.oracle.devstack.OracleRestClient;
import java.math.BigInteger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.web3j.protocol.core.methods.response.TransactionReceipt;
import org.web3j.utils.Numeric;

/**
 * Two live oracle nodes on one coordinator serve a 7-turn {@code ChatBot} conversation, and before every turn after
 * the first the node that served the previous turn is killed (SIGKILL; it is restarted on its journal once the turn
 * is served, so the next kill has a node to hit): each turn is served by the other node, which has never seen the
 * previous turn's KV rows. Every turn must be fulfilled exactly once (one fulfillTurn transaction in all), the replies
 * must equal a single-process replay of the same conversation (full recompute of the canonical history each turn),
 * and the session's head must commit to the same tokens. How each node resumed (prefix cache, snapshot, recompute)
 * is read from its metrics: every turn after the first resumes from the previous server's snapshot chain, except the
 * last, before which the snapshots are deleted from IPFS (it recomputes, with the same reply).
 */
class SessionsAcrossNodesIT {
    private static final List<String> MESSAGES = List.of("Once upon a time", "\nTom said:", " The sun came out.",
            "\nThen", " Lily asked why.", "\nThe end.", " Tom smiled.");
    /** Before this turn the snapshots are deleted from IPFS: the fault "snapshot missing", end to end. */
    private static final int SNAPSHOTS_GONE = MESSAGES.size() - 1;
    private static final int MAX_TOKENS = 20;
    private static final long SEED = 42;
    private static final int USER = 3;

    @Test
    void turnsAlternateBetweenNodesWithTheLastServerKilledEachTime() throws Exception {
        try (E2eStack stack = E2eStack.builder().secondOracle().exclusiveWindow(2).start()) {
            ChatBot bot = ChatBot.deploy(stack.web3j(), stack.sender(USER), DevChainDeployer.DEV_GAS,
                    stack.deployment.coordinator()).send();
            List<ChatBot.Adapter> persona = stack.adapters.stream()
                    .map(a -> new ChatBot.Adapter(a.cidBytes(), BigInteger.valueOf(a.weight()))).toList();
            TransactionReceipt started = bot.startChat(stack.modelId, persona, BigInteger.valueOf(SEED)).send();
            BigInteger sessionId = InferenceCoordinator.getSessionOpenedEvents(started).getFirst().sessionId;
            BigInteger fee = bot.quoteMessage(stack.modelId, BigInteger.valueOf(persona.size()), BigInteger.valueOf(MAX_TOKENS)).send();

            Map<String, OracleProcess> nodes = Map.of(
                    E2eStack.account(E2eStack.ORACLE).getAddress().toLowerCase(), stack.oracle,
                    E2eStack.account(E2eStack.ORACLE_2).getAddress().toLowerCase(), stack.oracle2);
            List<BigInteger> ids = new ArrayList<>();
            List<String> servedBy = new ArrayList<>();
            List<String> resumedFrom = new ArrayList<>();
            List<String> rejectedMissing = new ArrayList<>();
            List<Double> publishMillis = new ArrayList<>();
            for (int k = 0; k < MESSAGES.size(); k++) {
                OracleProcess killed = null;
                if (k > 0) {
                    awaitSnapshotUploaded(stack, sessionId, k - 1);
                    if (k == SNAPSHOTS_GONE) {
                        stack.ipfsClient.repoGc(); // snapshot blocks are not pinned: every link is gone
                        E2eStack.log("turn " + k + ": snapshots removed from IPFS (repo gc)");
                    }
                    killed = nodes.get(servedBy.get(k - 1));
                    killed.kill();
                    E2eStack.log("turn " + k + ": killed the node that served turn " + (k - 1) + " (" + servedBy.get(k - 1) + ")");
                }
                long t0 = System.nanoTime();
                TransactionReceipt said = bot.say(MESSAGES.get(k), BigInteger.valueOf(MAX_TOKENS), fee).send();
                BigInteger id = InferenceCoordinator.getInferenceRequestedEvents(said).getFirst().requestId;
                ids.add(id);
                CoordinatorEvents.Outcome outcome = awaitOutcome(stack, id, Duration.ofSeconds(180));
                assertTrue(outcome.fulfilled(), () -> "turn failed: " + outcome.reason());
                servedBy.add(outcome.oracle().toLowerCase());
                OracleProcess server = nodes.get(servedBy.get(k));
                String metrics = Metrics.scrape(server.settings().restUrl());
                String source = Metrics.labelWithCount(metrics, "loracle_session_resume_total", "source");
                resumedFrom.add(source);
                rejectedMissing.add(Metrics.labelWithCount(metrics, "loracle_session_snapshot_rejected_total", "reason"));
                publishMillis.add(1000 * Metrics.value(metrics, "loracle_session_fulfilment_publish_seconds_sum"));
                E2eStack.log(String.format("turn %d served by %s in %d ms; history resumed from %s; publish on the critical path %.1f ms",
                        k, outcome.oracle(), (System.nanoTime() - t0) / 1_000_000, source, publishMillis.getLast()));
                if (killed != null) {
                    assertNotEquals(servedBy.get(k - 1), servedBy.get(k), "a killed node cannot serve");
                    killed.restart(E2eStack.ORACLE_READY);
                }
            }

            // exactly once: one outcome per turn, one fulfillTurn transaction per turn from both nodes together
            Map<BigInteger, Integer> sent = fulfillTurnTransactions(stack);
            for (BigInteger id : ids) {
                assertEquals(1, stack.events.outcomes(id).size(), "turn " + E2eStack.hex(id) + " ended once");
                assertEquals(1, sent.getOrDefault(id, 0), "one fulfillTurn sent for " + E2eStack.hex(id));
            }
            SessionReplay.Replay expected = SessionReplay.replay(stack.adapters, MESSAGES, MAX_TOKENS,
                    7_000, 9_000, SEED); // ChatBot.TEMPERATURE, TOP_P
            List<String> replies = bot.conversation(E2eStack.account(USER).getAddress()).send().component3();
            assertEquals(expected.replies(), replies, "replies equal a single-process replay of the conversation");
            List<InferenceCoordinator.Adapter> adapters = stack.exampleAdapters();
            assertArrayEquals(SessionHead.compute(NumericProfile.DEV_DEFAULT.toString(), adapters, expected.tokensAfter().getLast()),
                    stack.coordinatorAs(E2eStack.OWNER).sessionHeads(sessionId).send(), "the head commits to the same tokens");

            E2eStack.log("sessions across nodes: resumed from " + resumedFrom + "; publish ms per turn " + publishMillis
                    + " (each turn's server since its last start: every turn after the first on a node that did not serve the previous one)");
            assertEquals("recompute=1", resumedFrom.getFirst(), "turn 0 has no history to resume");
            for (int k = 1; k < SNAPSHOTS_GONE; k++) {
                assertEquals("snapshot=1", resumedFrom.get(k), "turn " + k + " resumed on a node that did not serve turn " + (k - 1));
            }
            assertEquals("recompute=1", resumedFrom.get(SNAPSHOTS_GONE), "snapshots missing on IPFS: the turn recomputes");
            assertEquals("unavailable=1", rejectedMissing.get(SNAPSHOTS_GONE), "the missing snapshot is counted with its reason");
        }
    }

    /** Before killing the node that served turn {@code k}: its snapshot (if it published one) is on IPFS. */
    private static void awaitSnapshotUploaded(E2eStack stack, BigInteger sessionId, int k) throws Exception {
        byte[] cid = null;
        for (var log : stack.web3j().ethGetLogs(new org.web3j.protocol.core.methods.request.EthFilter(
                        org.web3j.protocol.core.DefaultBlockParameter.valueOf(BigInteger.valueOf(stack.deployment.deployBlock())),
                        org.web3j.protocol.core.DefaultBlockParameterName.LATEST, stack.deployment.coordinator())
                .addSingleTopic(org.web3j.abi.EventEncoder.encode(InferenceCoordinator.SESSIONADVANCED_EVENT)))
                .send().getLogs()) {
            var e = InferenceCoordinator.getSessionAdvancedEventFromLog((org.web3j.protocol.core.methods.response.Log) log.get());
            if (e.sessionId.equals(sessionId) && e.turn.intValue() == k) cid = e.snapshotCid;
        }
        if (cid == null || cid.length == 0) return;
        Cid root = Cid.fromBytes(cid);
        long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < end) {
            try {
                stack.ipfsClient.blockGet(root, Duration.ofSeconds(1));
                return;
            } catch (RuntimeException notYet) {
                Thread.sleep(200);
            }
        }
        E2eStack.log("snapshot " + root + " of turn " + k + " not on IPFS after 30 s; the next node recomputes");
    }

    private static CoordinatorEvents.Outcome awaitOutcome(E2eStack stack, BigInteger id, Duration timeout) throws Exception {
        long end = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < end) {
            List<CoordinatorEvents.Outcome> list = stack.events.outcomes(id);
            if (!list.isEmpty()) return list.getFirst();
            Thread.sleep(250);
        }
        throw new AssertionError("turn " + E2eStack.hex(id) + " has no outcome after " + timeout.toSeconds() + " s\nnode 1:\n"
                + stack.oracle.logTail(60) + "\nnode 2:\n" + stack.oracle2.logTail(60));
    }

    /** fulfillTurn transactions mined to the coordinator, by request id (from any sender). */
    private static Map<BigInteger, Integer> fulfillTurnTransactions(E2eStack stack) throws Exception {
        String selector = org.web3j.crypto.Hash.sha3String(InferenceCoordinator.FUNC_FULFILLTURN + "(uint256,"
                + "(address,bytes32,(bytes,int32)[],bytes,uint8,uint32,uint32,uint32,uint64,uint32,uint64,uint96,address,uint64),"
                + "bytes,bytes32,bytes32,bytes)").substring(0, 10);
        Map<BigInteger, Integer> sent = new HashMap<>();
        long head = stack.anvil.blockNumber().longValueExact();
        for (long n = stack.deployment.deployBlock(); n <= head; n++) {
            var block = stack.web3j().ethGetBlockByNumber(org.web3j.protocol.core.DefaultBlockParameter.valueOf(BigInteger.valueOf(n)), true)
                    .send().getBlock();
            for (var result : block.getTransactions()) {
                var tx = (org.web3j.protocol.core.methods.response.Transaction) result.get();
                if (stack.deployment.coordinator().equalsIgnoreCase(tx.getTo()) && tx.getInput().startsWith(selector)) {
                    sent.merge(Numeric.toBigInt(tx.getInput().substring(10, 74)), 1, Integer::sum);
                }
            }
        }
        return sent;
    }
}
