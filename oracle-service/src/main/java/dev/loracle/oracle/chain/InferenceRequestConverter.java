package dev.loracle.oracle.chain;

import dev.loracle.contracts.generated.InferenceCoordinator;
import dev.loracle.oracle.journal.AdapterSpec;
import dev.loracle.oracle.journal.InferenceSpec;
import dev.loracle.oracle.journal.PromptFormat;
import dev.loracle.oracle.journal.RequestOrigin;
import org.web3j.utils.Numeric;

import java.math.BigInteger;
import java.util.List;

/** Maps the journal's {@link InferenceSpec} / {@link AdapterSpec} to and from the contract's generated ABI structs. */
public final class InferenceRequestConverter {
    private static final String ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

    private InferenceRequestConverter() {
    }

    /** The on-chain request struct of a chain request, exactly as fulfill / reportFailure re-check it. */
    public static InferenceCoordinator.InferenceRequest toStruct(InferenceSpec spec) {
        return new InferenceCoordinator.InferenceRequest(addressOrZero(spec.consumer()), Numeric.hexStringToByteArray(spec.modelId()),
                toStructAdapters(spec.adapters()), spec.prompt(), BigInteger.valueOf(spec.promptFormat().ordinal()),
                BigInteger.valueOf(spec.maxTokens()),
                BigInteger.valueOf(spec.temperature()), BigInteger.valueOf(spec.topP()), spec.seed(),
                BigInteger.valueOf(spec.callbackGasLimit()), BigInteger.valueOf(spec.deadline()), spec.fee(),
                addressOrZero(spec.assignedOracle()), BigInteger.valueOf(spec.exclusiveUntil()));
    }

    public static List<InferenceCoordinator.Adapter> toStructAdapters(List<AdapterSpec> adapters) {
        return adapters.stream().map(a -> new InferenceCoordinator.Adapter(a.cid(), BigInteger.valueOf(a.weight()))).toList();
    }

    /** The journal's form of a request read from the chain (addresses as lower-case 0x hex). */
    public static InferenceSpec toSpec(BigInteger requestId, InferenceCoordinator.InferenceRequest r) {
        List<AdapterSpec> adapters = r.adapters.stream().map(a -> new AdapterSpec(a.cid, a.weight.intValueExact())).toList();
        return new InferenceSpec(InferenceSpec.chainId(requestId), RequestOrigin.CHAIN, r.consumer.toLowerCase(),
                Numeric.toHexString(r.modelId), adapters, r.prompt, r.maxTokens.longValueExact(), r.temperature.longValueExact(),
                r.topP.longValueExact(), r.seed, r.callbackGasLimit.longValueExact(), r.deadline.longValueExact(), r.fee,
                r.assignedOracle.toLowerCase(), r.exclusiveUntil.longValueExact(),
                PromptFormat.ofOnChain(r.promptFormat.intValueExact()));
    }

    private static String addressOrZero(String address) {
        return address == null || address.isEmpty() ? ZERO_ADDRESS : address;
    }
}
