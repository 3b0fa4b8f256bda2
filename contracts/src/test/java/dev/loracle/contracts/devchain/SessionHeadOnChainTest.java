package dev.loracle.contracts.devchain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.loracle.contracts.SessionHead;
import dev.loracle.contracts.generated.InferenceCoordinator;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.web3j.crypto.Credentials;
import org.web3j.crypto.Hash;
import org.web3j.protocol.Web3j;

/** {@link SessionHead} agrees with the deployed coordinator's {@code computeSessionHead}, and depends on every token. */
class SessionHeadOnChainTest {
    private static final HexFormat HEX = HexFormat.of();

    @Test
    void javaHeadEqualsTheCoordinatorsAndChangesWithTheTokens() throws Exception {
        try (AnvilProcess anvil = AnvilProcess.builder().start()) {
            Web3j web3j = anvil.web3j();
            Credentials owner = anvil.account(0);
            DevChainDeployer.Config config = DevChainDeployer.Config
                    .defaults(HEX.parseHex("b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696"), List.of(anvil.account(1).getAddress()));
            Deployment d = DevChainDeployer.deploy(web3j, anvil.httpUrl(), anvil.wsUrl(), anvil.chainId(), owner, config);
            InferenceCoordinator c = InferenceCoordinator.load(d.coordinator(), web3j,
                    TransactionManagers.fastPolling(web3j, owner, anvil.chainId()), DevChainDeployer.DEV_GAS);
            byte[] modelId = Hash.sha3("stories260K".getBytes(StandardCharsets.UTF_8));
            List<InferenceCoordinator.Adapter> adapters = List.of(
                    new InferenceCoordinator.Adapter(HEX.parseHex("1220" + "a".repeat(64)), BigInteger.valueOf(10_000)),
                    new InferenceCoordinator.Adapter(HEX.parseHex("01551220" + "b7".repeat(32)), BigInteger.valueOf(-2_500)));
            int[] tokens = {1, 403, 407, 261, 378, 11, 30, 31999};
            List<BigInteger> ids = Arrays.stream(tokens).mapToObj(BigInteger::valueOf).toList();
            byte[] onChain = c.computeSessionHead(modelId, adapters, ids).send();
            assertArrayEquals(onChain, SessionHead.compute(config.profile().toString(), adapters, tokens));
            tokens[7]++;
            assertFalse(Arrays.equals(onChain, SessionHead.compute(config.profile().toString(), adapters, tokens)));
        }
    }
}
