package dev.loracle.oracle.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loracle.contracts.NumericProfile;
import dev.loracle.contracts.devchain.DevChainDeployer;
import dev.loracle.oracle.journal.InferenceSpec;
import dev.loracle.oracle.journal.RequestState;
import dev.loracle.oracle.TestDatabases;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.web3j.crypto.Hash;

/**
 * What an operator meets: a node refuses to start against a registry that names other weights or another numeric
 * profile than it runs; a running node shows no secrets in its health, publishes wallet metrics, and withdraws its
 * credited fees on the admin action.
 */
class NodeOperationsIT {
    static LocalStack stack;

    @TempDir
    Path cacheDir;

    @BeforeAll
    static void start() throws Exception {
        stack = LocalStack.get();
    }

    @Test
    void refusesToStartWhenTheRegistryNamesOtherWeightsOrAnotherProfile() throws Exception {
        byte[] otherWeights = Hash.sha3("some other weights".getBytes(StandardCharsets.UTF_8));
        try (var chain = new LocalStack.Chain(null, stack, c -> DevChainDeployer.Config.defaults(otherWeights,
                c.oracles())); var db = TestDatabases.create(TestDatabases.Kind.H2)) {
            assertThatThrownBy(() -> OracleNode.start(OracleNode.properties(stack, chain, db, cacheDir)))
                    .rootCause().hasMessageContaining("registered with weights hash").hasMessageContaining("has sha256");
        }
        try (var chain = new LocalStack.Chain(null, stack, c -> c.withProfile(new NumericProfile("Q8_0", "MERGED", "F32")));
             var db = TestDatabases.create(TestDatabases.Kind.H2)) {
            assertThatThrownBy(() -> OracleNode.start(OracleNode.properties(stack, chain, db, cacheDir)))
                    .rootCause().hasMessageContaining("numeric profile 'quant=Q8_0;attach=MERGED;kv=F32'")
                    .hasMessageContaining("quant=F32;attach=UNMERGED;kv=F32");
        }
    }

    @Test
    void healthHasNoSecretsAndTheOracleWithdrawsItsFees() throws Exception {
        try (var chain = new LocalStack.Chain(null, stack); var db = TestDatabases.create(TestDatabases.Kind.H2);
             OracleNode node = OracleNode.start(OracleNode.properties(stack, chain, db, cacheDir));
             HttpClient http = HttpClient.newHttpClient()) {
            BigInteger id = chain.tellStory(stack.adapterCids().subList(0, 1), List.of(10_000), "Once upon a time", 8, 3);
            node.awaitState(InferenceSpec.chainId(id), Set.of(RequestState.CONFIRMED, RequestState.UNLOADED), Duration.ofSeconds(60));
            String oracle = LocalStack.ORACLE.getAddress();
            BigInteger credited = chain.coordinator.credits(oracle).send();
            assertThat(credited).isPositive();

            node.awaitState(InferenceSpec.chainId(id), Set.of(RequestState.UNLOADED), Duration.ofSeconds(60));
            String base = "http://127.0.0.1:" + node.port();
            String health = http.send(HttpRequest.newBuilder(URI.create(base + "/actuator/health")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            assertThat(health).contains("\"rpc\":\"http://127.0.0.1:" + chain.anvil.port() + "\"")
                    .doesNotContain("lastRpcError").doesNotContain("ingestionError")
                    .contains("\"parsedAdapterCache\"").contains("\"adapters\":1");

            HttpRequest withdraw = HttpRequest.newBuilder(URI.create(base + "/api/admin/withdraw"))
                    .header("X-Api-Key", OracleNode.ADMIN_KEY).POST(HttpRequest.BodyPublishers.noBody()).build();
            HttpResponse<String> answer = http.send(withdraw, HttpResponse.BodyHandlers.ofString());
            assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
            assertThat(answer.body()).contains("\"amountWei\":\"" + credited + "\"").contains("txHash");
            long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (chain.coordinator.credits(oracle).send().signum() > 0 && System.nanoTime() < end) Thread.sleep(100);
            assertThat(chain.coordinator.credits(oracle).send()).isZero();
            HttpResponse<String> again = http.send(withdraw, HttpResponse.BodyHandlers.ofString());
            assertThat(again.statusCode()).isEqualTo(409);
            assertThat(again.body()).contains("nothing to withdraw");

            String metrics = http.send(HttpRequest.newBuilder(URI.create(base + "/actuator/prometheus")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            assertThat(metrics).contains("loracle_oracle_balance_eth").contains("loracle_oracle_credits_unclaimed_eth")
                    .contains("loracle_adapters_attach_latency_seconds_bucket").contains("loracle_adapter_loads_total{cid=")
                    .contains("loracle_generations_total")
                    .contains("loracle_adapters_parsed_bytes ").contains("loracle_adapters_parsed_redline_bytes ")
                    .as("no per-adapter resident figure once the request is unloaded").doesNotContain("loracle_adapter_resident_bytes{");
        }
    }
}
