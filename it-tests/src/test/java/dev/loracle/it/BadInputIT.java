package dev.loracle.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.contracts.FailureCode;
import dev.loracle.contracts.generated.InferenceCoordinator;
import dev.loracle.ipfs.AddOptions;
import dev.loracle.ipfs.Cid;
import dev.loracle.oracle.devstack.CoordinatorEvents;
import dev.loracle.oracle.devstack.ExampleAdapters;
import dev.loracle.runtime.lora.ModelShape;
import dev.loracle.runtime.lora.PeftAdapter;
import dev.loracle.runtime.lora.ProjectionKind;
import dev.loracle.runtime.tokenizer.Tokenizer;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Bad input from the chain. What the coordinator can check cheaply it rejects with a custom error (asserted by
 * selector); everything else reaches the oracle, which must end the request with InferenceFailed, the precise
 * failure code and a reason (fee refunded), and keep serving: a good request afterwards is fulfilled.
 */
@org.junit.jupiter.api.Tag("fault")
class BadInputIT {
    @Test
    void contractRejectsAndOracleFailsPrecisely() throws Exception {
        try (E2eStack stack = E2eStack.builder().start()) {
            Map<String, String> figures = new LinkedHashMap<>();
            contractRejections(stack, figures);

            // A CIDv1 (raw codec) of a plain file: well-formed, present, but not a PEFT adapter directory.
            Cid plainFile = stack.ipfs.client().addBytes("not-an-adapter.txt",
                    "this is not a LoRA adapter\n".getBytes(StandardCharsets.UTF_8), AddOptions.defaults()).cid();
            expectFailure(stack, 5, "raw CID of a plain file", stack.basic().withAdapters(
                    List.of(E2eStack.adapter(plainFile.toBytes(), 5_000))), FailureCode.ADAPTER_INVALID, figures);

            // The example adapter's directory digest announced with the raw codec: the bytes are a dag-pb node, not
            // adapter files.
            Cid dir = stack.adapters.getFirst().cid();
            Cid wrongCodec = Cid.of(Cid.Codec.RAW, dir.digest());
            expectFailure(stack, 5, "directory digest with the raw codec", stack.basic().withAdapters(
                    List.of(E2eStack.adapter(wrongCodec.toBytes(), 5_000))), FailureCode.ADAPTER_INVALID, figures);

            // A valid PEFT adapter for another shape (stories110M: dim 768, 12 layers).
            Path other = stack.dataDir.resolve("wrong-shape");
            PeftAdapter.randomForShape(ModelShape.stories110M(), 2, 2f, EnumSet.of(ProjectionKind.Q), 99L).write(other);
            Cid otherCid = ExampleAdapters.publishDirectory(other, stack.ipfs.client());
            expectFailure(stack, 6, "adapter for another architecture", stack.basic().withAdapters(
                    List.of(E2eStack.adapter(otherCid.toBytes(), 5_000))), FailureCode.ADAPTER_INCOMPATIBLE, figures);

            // Prompts.
            expectFailure(stack, 6, "prompt not UTF-8", stack.basic().withPromptBytes(new byte[] {'O', 'n', (byte) 0xC3,
                    0x28, (byte) 0xFF}), FailureCode.PROMPT_INVALID, figures);
            Tokenizer tokenizer = tokenizer();
            String longPrompt = promptOfTokens(tokenizer, 700, 4000); // within 4096 bytes, beyond the 512 context
            expectFailure(stack, 7, "prompt longer than the model context (" + tokens(tokenizer, longPrompt)
                    + " tokens)", stack.basic().withPrompt(longPrompt), FailureCode.PROMPT_INVALID, figures);
            String mediumPrompt = promptOfTokens(tokenizer, 300, 4000);
            expectFailure(stack, 7, "prompt " + tokens(tokenizer, mediumPrompt) + " tokens + maxTokens 256 > context 512",
                    stack.basic().withPrompt(mediumPrompt).withMaxTokens(256), FailureCode.CONTEXT_OVERFLOW, figures);

            // Chat-format prompts: malformed -> PROMPT_INVALID with the reason; well-formed but no chat template for
            // stories260K -> MODEL_UNAVAILABLE. Both refunded.
            expectFailure(stack, 5, "chat prompt that is not a JSON list of messages",
                    stack.basic().withChatPrompt("{\"role\":\"user\",\"content\":\"hi\"}"), FailureCode.PROMPT_INVALID, figures);
            expectFailure(stack, 6, "chat prompt with an unknown role",
                    stack.basic().withChatPrompt("[{\"role\":\"wizard\",\"content\":\"hi\"}]"), FailureCode.PROMPT_INVALID, figures);
            expectFailure(stack, 7, "chat prompt for a model without a chat template",
                    stack.basic().withChatPrompt("[{\"role\":\"user\",\"content\":\"Tell me a story\"}]"),
                    FailureCode.MODEL_UNAVAILABLE, figures);

            // The node keeps serving.
            E2eStack.Sent good = stack.request(8, stack.basic());
            CoordinatorEvents.Outcome g = stack.awaitOutcome(good.requestId(), java.time.Duration.ofSeconds(90));
            assertTrue(g.fulfilled(), () -> "a good request after the bad ones failed: " + g.reason());
            figures.put("good request afterwards", "fulfilled");
            figures.forEach((k, v) -> E2eStack.log("bad input: " + k + " -> " + v));
        }
    }

    private static void contractRejections(E2eStack stack, Map<String, String> figures) throws Exception {
        InferenceCoordinator coordinator = stack.coordinatorAs(5);
        List<InferenceCoordinator.Adapter> nine = new ArrayList<>(Collections.nCopies(9, stack.exampleAdapters().getFirst()));
        byte[] shortCid = {0x12, 0x20, 1, 2, 3};
        byte[] unknownCodec = Cid.of(Cid.Codec.RAW, new byte[32]).toBytes();
        unknownCodec[1] = 0x71; // dag-cbor: not an adapter codec the contract accepts
        record Case(String what, E2eStack.Spec spec, String error) {}
        List<Case> cases = List.of(
                new Case("zero adapters", stack.basic().withAdapters(List.of()), "NoAdapters()"),
                new Case("nine adapters (max 8)", stack.basic().withAdapters(nine), "TooManyAdapters(uint256,uint256)"),
                new Case("5-byte CID", stack.basic().withAdapters(List.of(E2eStack.adapter(shortCid, 5_000))),
                        "InvalidCid(uint256)"),
                new Case("CIDv1 with dag-cbor codec", stack.basic().withAdapters(
                        List.of(E2eStack.adapter(unknownCodec, 5_000))), "InvalidCid(uint256)"),
                new Case("empty prompt", stack.basic().withPromptBytes(new byte[0]), "EmptyPrompt()"),
                new Case("4097-byte prompt", stack.basic().withPromptBytes(new byte[4097]),
                        "PromptTooLong(uint256,uint256)"),
                new Case("maxTokens 257 (model max 256)", stack.basic().withMaxTokens(257),
                        "InvalidMaxTokens(uint32,uint32)"));
        for (Case c : cases) {
            E2eStack.Spec s = c.spec();
            String data = coordinator.requestInference(stack.modelId, s.adapters(), s.prompt(), BigInteger.valueOf(s.promptFormat()),
                    BigInteger.valueOf(s.maxTokens()), BigInteger.valueOf(s.temperature()), BigInteger.valueOf(s.topP()),
                    BigInteger.valueOf(s.seed()), BigInteger.valueOf(s.callbackGasLimit()),
                    BigInteger.valueOf(stack.deadline(s)), BigInteger.TEN.pow(18)).encodeFunctionCall();
            Optional<String> selector = ChainCalls.revertSelector(stack.web3j(), E2eStack.account(5).getAddress(),
                    stack.deployment.coordinator(), data, BigInteger.TEN.pow(18));
            assertEquals(Optional.of(ChainCalls.selector(c.error())), selector, c.what() + " must revert with " + c.error());
            figures.put(c.what(), "reverted " + c.error());
        }
    }

    private static void expectFailure(E2eStack stack, int account, String what, E2eStack.Spec spec, FailureCode code,
            Map<String, String> figures) throws Exception {
        CoordinatorEvents.Outcome o = IpfsFaultsIT.failedWithRefund(stack, account, spec, code);
        figures.put(what, "InferenceFailed code " + o.failureCode() + " (" + o.reason() + "), refunded");
    }

    private static Tokenizer tokenizer() {
        return Tokenizer.fromLlama2c(ItPaths.modelsDir().resolve("llama2c/tok512.bin"), 512);
    }

    private static int tokens(Tokenizer tokenizer, String text) {
        return tokenizer.encode(text, true, false).length;
    }

    /** A story-like prompt of at least {@code minTokens} tokens and at most {@code maxBytes} bytes. */
    private static String promptOfTokens(Tokenizer tokenizer, int minTokens, int maxBytes) {
        String sentence = "The little cat saw a big red ball in the park and ran to play with it. ";
        StringBuilder b = new StringBuilder();
        while (tokens(tokenizer, b.toString()) < minTokens) {
            if (b.length() + sentence.length() > maxBytes) {
                throw new IllegalStateException("cannot reach " + minTokens + " tokens within " + maxBytes + " bytes");
            }
            b.append(sentence);
        }
        return b.toString().trim();
    }
}
