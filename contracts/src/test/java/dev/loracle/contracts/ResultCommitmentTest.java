package dev.loracle.contracts;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.loracle.contracts.ResultCommitment.ModelBinding;
import dev.loracle.contracts.generated.InferenceCoordinator.Adapter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Vectors computed independently with ethers.js ({@code AbiCoder.encode} + {@code keccak256}, as in the Hardhat
 * fixture's {@code resultCommitment}); the on-chain equality is checked by {@code CoordinatorFlowTest} against the
 * deployed coordinator.
 */
class ResultCommitmentTest {
    private static final HexFormat HEX = HexFormat.of();
    private static final byte[] WEIGHTS = HEX.parseHex("11".repeat(32));
    private static final byte[] MODEL = HEX.parseHex("33".repeat(32));
    private static final ModelBinding Q8 = new ModelBinding(WEIGHTS, "quant=Q8_0;attach=MERGED;kv=F32");
    private static final ModelBinding F32 = new ModelBinding(WEIGHTS, "quant=F32;attach=UNMERGED;kv=F32");
    private static final Adapter V0 = new Adapter(HEX.parseHex("1220" + "ab".repeat(32)), BigInteger.valueOf(10_000));
    private static final Adapter V1 = new Adapter(HEX.parseHex("01701220" + "cd".repeat(32)), BigInteger.valueOf(-5_000));
    private static final byte[] PROMPT = "Once upon a time".getBytes(StandardCharsets.UTF_8);

    @Test
    void matchesEthersForTwoAdaptersNegativeWeightAndMaxValues() {
        byte[] commitment = ResultCommitment.compute(BigInteger.TWO.pow(256).subtract(BigInteger.ONE), MODEL, Q8,
                List.of(V0, V1), PROMPT, 128, 7_000, 9_500, new BigInteger("18446744073709551615"),
                "Lily went to the park.".getBytes(StandardCharsets.UTF_8));
        assertEquals("41b92d3e0757fd119f7c262c598daf5f87a2ee53a46909b11315b016d63c855b", HEX.formatHex(commitment));
    }

    @Test
    void matchesEthersForEmptyPromptAndOutputAndGreedyDecoding() {
        byte[] commitment = ResultCommitment.compute(BigInteger.ONE, MODEL, F32, List.of(V0), new byte[0], 1, 0, 10_000,
                BigInteger.ZERO, new byte[0]);
        assertEquals("4fbfb18a5386e1b9f0af367007d282da075ccda30bcc34492c0767af8c9eff1d", HEX.formatHex(commitment));
    }

    @Test
    void changesWithEveryInput() {
        byte[] output = "x".getBytes(StandardCharsets.UTF_8);
        BigInteger id = BigInteger.TEN;
        byte[] base = ResultCommitment.compute(id, MODEL, Q8, List.of(V0), PROMPT, 1, 0, 10_000, BigInteger.ONE, output);
        ModelBinding otherWeights = new ModelBinding(HEX.parseHex("22".repeat(32)), Q8.profile());
        List<byte[]> variants = List.of(
                ResultCommitment.compute(BigInteger.ONE, MODEL, Q8, List.of(V0), PROMPT, 1, 0, 10_000, BigInteger.ONE, output),
                ResultCommitment.compute(id, WEIGHTS, Q8, List.of(V0), PROMPT, 1, 0, 10_000, BigInteger.ONE, output),
                ResultCommitment.compute(id, MODEL, otherWeights, List.of(V0), PROMPT, 1, 0, 10_000, BigInteger.ONE, output),
                ResultCommitment.compute(id, MODEL, F32, List.of(V0), PROMPT, 1, 0, 10_000, BigInteger.ONE, output),
                ResultCommitment.compute(id, MODEL, Q8, List.of(V1), PROMPT, 1, 0, 10_000, BigInteger.ONE, output),
                ResultCommitment.compute(id, MODEL, Q8, List.of(V0, V1), PROMPT, 1, 0, 10_000, BigInteger.ONE, output),
                ResultCommitment.compute(id, MODEL, Q8, List.of(V0), output, 1, 0, 10_000, BigInteger.ONE, output),
                ResultCommitment.compute(id, MODEL, Q8, List.of(V0), PROMPT, 2, 0, 10_000, BigInteger.ONE, output),
                ResultCommitment.compute(id, MODEL, Q8, List.of(V0), PROMPT, 1, 1, 10_000, BigInteger.ONE, output),
                ResultCommitment.compute(id, MODEL, Q8, List.of(V0), PROMPT, 1, 0, 9_999, BigInteger.ONE, output),
                ResultCommitment.compute(id, MODEL, Q8, List.of(V0), PROMPT, 1, 0, 10_000, BigInteger.TWO, output),
                ResultCommitment.compute(id, MODEL, Q8, List.of(V0), PROMPT, 1, 0, 10_000, BigInteger.ONE, new byte[] {'y'}));
        for (byte[] variant : variants) {
            assertFalse(Arrays.equals(base, variant));
        }
        assertArrayEquals(base,
                ResultCommitment.compute(id, MODEL, Q8, List.of(V0), PROMPT, 1, 0, 10_000, BigInteger.ONE, output));
    }

    @Test
    void rejectsAWeightsHashThatIsNot32BytesAndAnEmptyProfile() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> new ModelBinding(new byte[31], "quant=F32"));
        assertEquals("weightsHash must be 32 bytes", error.getMessage());
        assertEquals("profile must not be empty",
                assertThrows(IllegalArgumentException.class, () -> new ModelBinding(WEIGHTS, "")).getMessage());
    }
}
