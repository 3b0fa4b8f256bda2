package dev.loracle.contracts.devchain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.contracts.generated.InferenceCoordinator;
import dev.loracle.contracts.generated.StoryTeller;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.web3j.crypto.Hash;
import org.web3j.protocol.core.DefaultBlockParameterName;
import org.web3j.tx.ReadonlyTransactionManager;

class DevChainDeployerTest {
    private static final String WEIGHTS = "b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696";

    @Test
    void cliDeploysToAGivenRpcAndPrintsAddressesAsJson(@TempDir Path dir) throws Exception {
        try (AnvilProcess anvil = AnvilProcess.start()) {
            Path out = dir.resolve("deployment.json");
            String oracle = anvil.account(4).getAddress();
            DevChainDeployer.main(new String[] {"--rpc", anvil.httpUrl(), "--weights-hash", "0x" + WEIGHTS,
                "--oracle", oracle, "--exclusive-window", "15", "--out", out.toString()});
            String json = Files.readString(out).trim();
            String coordinatorAddress = stringField(json, "coordinator");
            String storyTellerAddress = stringField(json, "storyTeller");
            assertEquals(anvil.httpUrl(), stringField(json, "rpcUrl"));
            assertTrue(json.contains("\"chainId\":31337"), json);
            assertTrue(json.contains("\"oracles\":[\"" + oracle + "\"]"), json);
            assertEquals("0x" + HexFormat.of().formatHex(Hash.sha3("stories260K".getBytes(StandardCharsets.UTF_8))),
                    stringField(json, "modelId"));

            var readOnly = new ReadonlyTransactionManager(anvil.web3j(), anvil.account(0).getAddress());
            InferenceCoordinator coordinator = InferenceCoordinator.load(coordinatorAddress, anvil.web3j(), readOnly,
                    DevChainDeployer.DEV_GAS);
            assertTrue(coordinator.isOracle(oracle).send());
            assertEquals(BigInteger.valueOf(15), coordinator.exclusiveWindow().send());
            assertEquals(anvil.account(0).getAddress(), coordinator.owner().send().toLowerCase());
            var model = coordinator.models(Hash.sha3("stories260K".getBytes(StandardCharsets.UTF_8))).send();
            assertArrayEquals(HexFormat.of().parseHex(WEIGHTS), model.component1());
            assertTrue(model.component7()); // enabled
            assertEquals(dev.loracle.contracts.NumericProfile.DEV_DEFAULT.toString(), model.component9());
            StoryTeller storyTeller = StoryTeller.load(storyTellerAddress, anvil.web3j(), readOnly,
                    DevChainDeployer.DEV_GAS);
            assertEquals(coordinatorAddress.toLowerCase(), storyTeller.coordinator().send().toLowerCase());
            assertTrue(anvil.web3j().ethGetCode(storyTellerAddress, DefaultBlockParameterName.LATEST).send()
                    .getCode().length() > 2);
        }
    }

    @Test
    void rejectsBadArguments() {
        assertThrows(DevChainDeployer.CliOptions.UsageException.class,
                () -> DevChainDeployer.CliOptions.parse(new String[] {"--weights-hash", "0x1234"}));
        assertThrows(DevChainDeployer.CliOptions.UsageException.class,
                () -> DevChainDeployer.CliOptions.parse(new String[] {"--oracle", "not-an-address"}));
        assertThrows(DevChainDeployer.CliOptions.UsageException.class,
                () -> DevChainDeployer.CliOptions.parse(new String[] {"--port"}));
        assertThrows(DevChainDeployer.CliOptions.UsageException.class,
                () -> DevChainDeployer.CliOptions.parse(new String[] {"--rpc", "http://x", "--keep-running"}));
        assertThrows(DevChainDeployer.CliOptions.UsageException.class,
                () -> DevChainDeployer.CliOptions.parse(new String[] {"--bogus"}));
        assertThrows(DevChainDeployer.CliOptions.UsageException.class,
                () -> DevChainDeployer.CliOptions.parse(new String[] {"--profile", "Q8_0"}));
        assertThrows(IllegalArgumentException.class,
                () -> DevChainDeployer.Config.defaults(new byte[31], java.util.List.of("0x" + "11".repeat(20))));
        assertThrows(IllegalArgumentException.class,
                () -> DevChainDeployer.Config.defaults(new byte[32], java.util.List.of()));
    }

    @Test
    void deploymentJsonEscapesStrings() {
        Deployment deployment = new Deployment("http://a\"b", null, 1, "0x1", "0x2", "0x3",
                java.util.List.of("0x4"), "m\\n", "0x5", "0x6", 7);
        assertEquals("{\"rpcUrl\":\"http://a\\\"b\",\"wsUrl\":null,\"chainId\":1,\"coordinator\":\"0x1\","
                + "\"storyTeller\":\"0x2\",\"owner\":\"0x3\",\"oracles\":[\"0x4\"],\"modelName\":\"m\\\\n\","
                + "\"modelId\":\"0x5\",\"weightsHash\":\"0x6\",\"deployBlock\":7}", deployment.toJson());
    }

    private static String stringField(String json, String name) {
        Matcher matcher = Pattern.compile("\"" + name + "\":\"([^\"]*)\"").matcher(json);
        assertTrue(matcher.find(), name + " missing in " + json);
        return matcher.group(1);
    }
}
