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
