package dev.loracle.contracts;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.loracle.contracts.generated.InferenceCoordinator.Adapter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Vectors computed independently with ethers.js ({@code AbiCoder.encode} + {@code keccak256}, see the contracts
 * README); the on-chain equality is checked by {@code CoordinatorFlowTest} against the deployed coordinator.
 */
class ResultCommitmentTest {
    private static final HexFormat HEX = HexFormat.of();
    private static final byte[] WEIGHTS = HEX.parseHex("11".repeat(32));
    private static final Adapter V0 = new Adapter(HEX.parseHex("1220" + "ab".repeat(32)), BigInteger.valueOf(10_000));
    private static final Adapter V1 = new Adapter(HEX.parseHex("01701220" + "cd".repeat(32)), BigInteger.valueOf(-5_000));

    @Test
    void matchesEthersForTwoAdaptersNegativeWeightAndMaxSeed() {
        byte[] commitment = ResultCommitment.compute(WEIGHTS, List.of(V0, V1), 128, 7_000, 9_500,
                new BigInteger("18446744073709551615"), "Lily went to the park.".getBytes(StandardCharsets.UTF_8));
        assertEquals("9c49f77ec302b5aaf994bf3a1ec0e925d9e6552ac3cab67848b23c93d1a33399", HEX.formatHex(commitment));
    }

    @Test
    void matchesEthersForEmptyOutputAndGreedyDecoding() {
        byte[] commitment = ResultCommitment.compute(WEIGHTS, List.of(V0), 1, 0, 10_000, BigInteger.ZERO, new byte[0]);
        assertEquals("082fe45c54ee6cf8de9b42c7428e860d556ce27e93f652b800d24183d49598df", HEX.formatHex(commitment));
    }

    @Test
    void changesWithEveryInput() {
        byte[] output = "x".getBytes(StandardCharsets.UTF_8);
        byte[] base = ResultCommitment.compute(WEIGHTS, List.of(V0), 1, 0, 10_000, BigInteger.ONE, output);
        byte[] otherWeights = HEX.parseHex("22".repeat(32));
        List<byte[]> variants = List.of(
                ResultCommitment.compute(otherWeights, List.of(V0), 1, 0, 10_000, BigInteger.ONE, output),
                ResultCommitment.compute(WEIGHTS, List.of(V1), 1, 0, 10_000, BigInteger.ONE, output),
                ResultCommitment.compute(WEIGHTS, List.of(V0, V1), 1, 0, 10_000, BigInteger.ONE, output),
                ResultCommitment.compute(WEIGHTS, List.of(V0), 2, 0, 10_000, BigInteger.ONE, output),
                ResultCommitment.compute(WEIGHTS, List.of(V0), 1, 1, 10_000, BigInteger.ONE, output),
                ResultCommitment.compute(WEIGHTS, List.of(V0), 1, 0, 9_999, BigInteger.ONE, output),
                ResultCommitment.compute(WEIGHTS, List.of(V0), 1, 0, 10_000, BigInteger.TWO, output),
                ResultCommitment.compute(WEIGHTS, List.of(V0), 1, 0, 10_000, BigInteger.ONE, new byte[] {'y'}));
        for (byte[] variant : variants) {
            assertFalse(Arrays.equals(base, variant));
        }
        assertArrayEquals(base, ResultCommitment.compute(WEIGHTS, List.of(V0), 1, 0, 10_000, BigInteger.ONE, output));
    }

    @Test
    void rejectsAWeightsHashThatIsNot32Bytes() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> ResultCommitment.compute(new byte[31], List.of(V0), 1, 0, 1, BigInteger.ONE, new byte[0]));
        assertEquals("weightsHash must be 32 bytes", error.getMessage());
    }
}
