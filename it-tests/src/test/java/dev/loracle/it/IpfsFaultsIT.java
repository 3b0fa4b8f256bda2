package dev.loracle.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.contracts.FailureCode;
import dev.loracle.ipfs.Cid;
import dev.loracle.oracle.devstack.CoordinatorEvents;
import dev.loracle.oracle.devstack.ExampleAdapters;
import dev.loracle.runtime.lora.ProjectionKind;
import java.math.BigInteger;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * IPFS faults, with the oracle's IPFS API behind a proxy that can corrupt responses: a CID nobody has (ends in
 * ADAPTER_NOT_FOUND with the fee refunded), content that does not match its CID (ADAPTER_INVALID, refunded), the IPFS
 * node down until a request's deadline (an outage is not the request's fault: retried, then DEADLINE_EXCEEDED with a
 * refund, never ADAPTER_NOT_FOUND), and the node down for 3 s while a request needs a new adapter (retried, then
 * fulfilled). The node keeps serving: a good request afterwards is fulfilled.
 */
@Tag("fault")
class IpfsFaultsIT {
    private static final Duration OUTCOME = Duration.ofSeconds(90);

    @Test
    void missingTamperedAndNodeDown() throws Exception {
        try (E2eStack stack = E2eStack.builder().ipfsProxy().fetchTimeout(Duration.ofSeconds(5)).start()) {
            // missing CID: a well-formed CIDv1 whose content exists nowhere
            byte[] digest = new byte[32];
            new SecureRandom().nextBytes(digest);
            Cid missing = Cid.of(Cid.Codec.DAG_PB, digest);
            E2eStack.Spec missingSpec = stack.basic().withAdapters(List.of(E2eStack.adapter(missing.toBytes(), 5_000)));
            CoordinatorEvents.Outcome m = failedWithRefund(stack, 5, missingSpec, FailureCode.ADAPTER_NOT_FOUND);

            // tampered: a real adapter, but every byte stream the node returns for it has one byte flipped
            Cid tamperedCid = publishFresh(stack, "tampered", 0x7A3E01L);
            stack.ipfsProxy.tamper(tamperedCid);
            E2eStack.Spec tamperedSpec = stack.basic().withAdapters(List.of(E2eStack.adapter(tamperedCid.toBytes(), 5_000)));
            CoordinatorEvents.Outcome t = failedWithRefund(stack, 6, tamperedSpec, FailureCode.ADAPTER_INVALID);
            assertTrue(stack.ipfsProxy.tamperedResponses() > 0, "the proxy must have served corrupted content");

            // node down until the deadline of a request assigned to this oracle: retried, then DEADLINE_EXCEEDED
            Cid never = publishFresh(stack, "outage-to-deadline", 0x7A3E03L);
            stack.ipfs.stop();
            CoordinatorEvents.Outcome late = failedWithRefund(stack, 8, stack.basic().withDeadlineSeconds(12)
                    .withAdapters(List.of(E2eStack.adapter(never.toBytes(), 5_000))), FailureCode.DEADLINE_EXCEEDED);
            assertTrue(late.reason().contains("IPFS"), () -> "the reason names the outage: " + late.reason());
            stack.ipfs.restart();

            // node down for 3 s while a request needs an adapter the oracle has never fetched: retried, then fulfilled
            Cid fresh = publishFresh(stack, "after-outage", 0x7A3E02L);
            stack.ipfs.stop();
            E2eStack.Sent downReq = stack.request(7, stack.basic().withAdapters(
                    List.of(E2eStack.adapter(fresh.toBytes(), 5_000))));
            Thread.sleep(3_000); // the length of the outage
            stack.ipfs.restart();
            CoordinatorEvents.Outcome d = stack.awaitOutcome(downReq.requestId(), OUTCOME);
            assertTrue(d.fulfilled(), () -> "a request that met a 3 s IPFS outage must be served after recovery, not failed: "
                    + d.failureCode() + " " + d.reason());

            // and the node keeps serving: a request sent once the node answers again (plus a 2 s grace) is fulfilled
            Thread.sleep(2_000);
            E2eStack.Sent good = stack.request(8, stack.basic().withAdapters(
                    List.of(E2eStack.adapter(fresh.toBytes(), 5_000))));
            CoordinatorEvents.Outcome g = stack.awaitOutcome(good.requestId(), OUTCOME);
            assertTrue(g.fulfilled(), () -> "request after IPFS recovery failed: " + g.reason());

            E2eStack.log(String.format("ipfs faults figures: missing -> code %d (%s); tampered -> code %d (%s, %d "
                            + "corrupted responses); down until deadline -> code %d (%s); down 3 s -> fulfilled after "
                            + "recovery; after recovery -> fulfilled", m.failureCode(), m.reason(), t.failureCode(),
                    t.reason(), stack.ipfsProxy.tamperedResponses(), late.failureCode(), late.reason()));
        }
    }

    static Cid publishFresh(E2eStack stack, String name, long seed) {
        ExampleAdapters.Style style = new ExampleAdapters.Style(name, EnumSet.of(ProjectionKind.V), 2, 1.0f, seed,
                5_000);
        var dir = ExampleAdapters.write(stack.dataDir.resolve("extra-adapters"), style, ExampleAdapters.STORIES_260K);
        return ExampleAdapters.publishDirectory(dir, stack.ipfs.client());
    }

    /** Sends {@code spec} from {@code account}; asserts one InferenceFailed with {@code code} and the fee refunded. */
    static CoordinatorEvents.Outcome failedWithRefund(E2eStack stack, int account, E2eStack.Spec spec,
            FailureCode code) throws Exception {
        String consumer = E2eStack.account(account).getAddress();
        BigInteger creditsBefore = stack.credits(consumer);
        E2eStack.Sent sent = stack.request(account, spec);
        CoordinatorEvents.Outcome outcome = stack.awaitOutcome(sent.requestId(), OUTCOME);
        assertTrue(!outcome.fulfilled(), () -> code + " expected but the request was fulfilled");
        assertEquals(code.code(), outcome.failureCode(), () -> "failure code (reason: " + outcome.reason() + ")");
        assertTrue(outcome.reason() != null && !outcome.reason().isBlank(), "a failure must carry a reason");
        assertEquals(sent.fee(), stack.credits(consumer).subtract(creditsBefore), "the consumer's fee is refunded");
        return outcome;
    }
}
