package dev.loracle.oracle.chain;

import dev.loracle.oracle.journal.AdapterSpec;
import dev.loracle.oracle.journal.InferenceSpec;
import dev.loracle.oracle.journal.RequestOrigin;
import org.junit.jupiter.api.Test;
import org.web3j.protocol.core.methods.response.Log;
import org.web3j.utils.Numeric;

import java.math.BigInteger;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Input checks and the journal mapping; the encoding itself is proven against the deployed contract in CoordinatorAbiIT. */
class CoordinatorAbiTest {
    static final BigInteger ID = new BigInteger("d4bed21da4dcd4eb0c15ce4992a08569a811ffe3990523ffd87b658d5d591fb6", 16);

    static InferenceSpec spec() {
        return new InferenceSpec(InferenceSpec.chainId(ID), RequestOrigin.CHAIN, "0x" + "11".repeat(20), "0x" + "22".repeat(32),
                List.of(new AdapterSpec(Numeric.hexStringToByteArray("0x01701220" + "ab".repeat(32)), 7_500),
                        new AdapterSpec(Numeric.hexStringToByteArray("0x1220" + "cd".repeat(32)), -2_500)),
                "Once upon a time \u00e9".getBytes(), 24, 8_000, 9_000, new BigInteger("18446744073709551615"), 212_000,
                1_900_000_000L, new BigInteger("1000000000000000"), "0x" + "33".repeat(20), 1_800_000_000L);
    }

    @Test
    void theJournalSpecSurvivesTheTripThroughTheContractStruct() {
        InferenceSpec s = spec();
        assertThat(InferenceRequestConverter.toSpec(ID, InferenceRequestConverter.toStruct(s))).isEqualTo(s);
    }

    @Test
    void truncatedEventDataIsRejectedClearly() {
        Log log = new Log();
        log.setTopics(List.of(CoordinatorAbi.INFERENCE_REQUESTED_TOPIC, InferenceSpec.chainId(ID),
                "0x" + "00".repeat(12) + "11".repeat(20), "0x" + "22".repeat(32)));
        log.setData("0x0000");
        assertThatThrownBy(() -> CoordinatorAbi.decodeInferenceRequested(log))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a valid request");
    }

    @Test
    void valuesOutsideTheirSolidityTypeAreRefused() {
        InferenceSpec s = spec();
        InferenceSpec tooManyTokens = new InferenceSpec(s.id(), s.origin(), s.consumer(), s.modelId(), s.adapters(), s.prompt(),
                1L << 32, s.temperature(), s.topP(), s.seed(), s.callbackGasLimit(), s.deadline(), s.fee(), s.assignedOracle(),
                s.exclusiveUntil());
        assertThatThrownBy(() -> CoordinatorAbi.encodeFulfill(tooManyTokens, new byte[0], new byte[32]))
                .isInstanceOf(UnsupportedOperationException.class);
    }
}
