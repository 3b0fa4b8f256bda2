package dev.loracle.oracle.pipeline;

import dev.loracle.contracts.ResultCommitment.ModelBinding;
import dev.loracle.oracle.chain.CoordinatorClient;
import dev.loracle.oracle.config.OracleProperties;
import dev.loracle.oracle.journal.RequestJournal;
import dev.loracle.oracle.journal.TxJournal;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.MDC;

import java.time.Clock;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What the pipeline's parts share: the journals, the chain (null for an off-chain node), the model this node serves
 * and its on-chain ids, settings, and the node-wide run flags.
 */
record PipelineContext(RequestJournal journal, TxJournal txJournal, CoordinatorClient chain, ModelBinding model,
                       Set<String> servedModelIds, OracleProperties.Scheduler cfg, Clock clock, MeterRegistry meters,
                       InFlight inFlight, AtomicBoolean accepting, AtomicBoolean stopped) {

    PipelineContext {
        servedModelIds = Set.copyOf(servedModelIds.stream().map(String::toLowerCase).toList());
    }

    /**
     * Whether someone else may have ended {@code spec} on-chain, so {@code isPending} must be asked: false only for a
     * request assigned to this node inside its exclusive window (2 s kept back for clock skew against block time),
     * which no other oracle may serve and no consumer may cancel yet (the deadline is later). Saves an RPC round trip
     * per request on the generation path in the common case.
     */
    boolean mayBeServedElsewhere(dev.loracle.oracle.journal.InferenceSpec spec) {
        if (spec.origin() != dev.loracle.oracle.journal.RequestOrigin.CHAIN) return false;
        boolean ours = spec.assignedOracle() != null && spec.assignedOracle().equalsIgnoreCase(chain.oracleAddress());
        return !ours || clock.millis() / 1000 + 2 >= spec.exclusiveUntil();
    }

    boolean serves(String modelId) {
        return servedModelIds.contains(modelId.toLowerCase());
    }

    static void withMdc(String id, Runnable r) {
        String previous = MDC.get("requestId");
        MDC.put("requestId", id);
        try {
            r.run();
        } finally {
            if (previous == null) MDC.remove("requestId");
            else MDC.put("requestId", previous);
        }
    }
}
