package dev.loracle.it;

import dev.loracle.contracts.generated.InferenceCoordinator;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.util.List;
import org.web3j.abi.FunctionEncoder;
import org.web3j.abi.TypeReference;
import org.web3j.abi.datatypes.Address;
import org.web3j.abi.datatypes.Bool;
import org.web3j.abi.datatypes.DynamicArray;
import org.web3j.abi.datatypes.DynamicBytes;
import org.web3j.abi.datatypes.Function;
import org.web3j.abi.datatypes.generated.Bytes32;
import org.web3j.abi.datatypes.generated.Uint256;
import org.web3j.abi.datatypes.generated.Uint32;
import org.web3j.abi.datatypes.generated.Uint64;
import org.web3j.protocol.core.methods.response.TransactionReceipt;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A test consumer contract of the contracts module (RecordingConsumer, RevertingConsumer, GasBurningConsumer,
 * ReenteringConsumer: all {@code ConsumerHarness}), deployed from its Hardhat artifact. {@link #request} forwards
 * every field to the coordinator, so the consumer of the request is this contract and its callbacks run.
 */
final class TestConsumer {
    final String name;
    final String address;
    private final E2eStack stack;
    private final int account;

    private TestConsumer(String name, String address, E2eStack stack, int account) {
        this.name = name;
        this.address = address;
        this.stack = stack;
        this.account = account;
    }

    static TestConsumer deploy(E2eStack stack, String name, int account) throws Exception {
        JsonNode artifact = JsonMapper.builder().build()
                .readTree(Files.readString(ItPaths.contractArtifact("test", name)));
        String bytecode = artifact.get("bytecode").asString();
        String constructor = FunctionEncoder.encodeConstructor(List.of(new Address(stack.deployment.coordinator())));
        TransactionReceipt receipt = ChainCalls.send(stack.web3j(), stack.sender(account), null,
                bytecode + constructor, BigInteger.ZERO);
        if (!receipt.isStatusOK() || receipt.getContractAddress() == null) {
            throw new IllegalStateException("deploying " + name + " failed: " + receipt);
        }
        return new TestConsumer(name, receipt.getContractAddress(), stack, account);
    }

    /** ConsumerHarness.request(...) paying the quoted fee; returns the coordinator's request. */
    E2eStack.Sent request(E2eStack.Spec spec) throws Exception {
        BigInteger fee = stack.fee(spec);
        Function f = new Function("request", List.of(new Bytes32(stack.modelId),
                new DynamicArray<>(InferenceCoordinator.Adapter.class, spec.adapters()),
                new DynamicBytes(spec.prompt()), new org.web3j.abi.datatypes.generated.Uint8(spec.promptFormat()),
                new Uint32(spec.maxTokens()), new Uint32(spec.temperature()),
                new Uint32(spec.topP()), new Uint64(spec.seed()), new Uint32(spec.callbackGasLimit()),
                new Uint64(stack.deadline(spec))), List.of());
        TransactionReceipt receipt = ChainCalls.send(stack.web3j(), stack.sender(account), address,
                FunctionEncoder.encode(f), fee);
        if (!receipt.isStatusOK()) {
            throw new IllegalStateException(name + ".request reverted: " + receipt.getRevertReason());
        }
        BigInteger id = InferenceCoordinator.getInferenceRequestedEvents(receipt).getFirst().requestId;
        return new E2eStack.Sent(id, receipt.getTransactionHash(), receipt.getBlockNumber().longValueExact(), fee);
    }

    E2eStack stack() {
        return stack;
    }

    BigInteger uint(String getter) throws IOException {
        return (BigInteger) ChainCalls.call(stack.web3j(), address, getter, List.of(new TypeReference<Uint256>() { }))
                .getFirst().getValue();
    }

    boolean bool(String getter) throws IOException {
        return (Boolean) ChainCalls.call(stack.web3j(), address, getter, List.of(new TypeReference<Bool>() { }))
                .getFirst().getValue();
    }
}
