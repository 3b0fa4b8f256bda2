package dev.loracle.oracle.devstack;

import dev.loracle.contracts.devchain.DevAccounts;
import dev.loracle.contracts.devchain.DevChainDeployer;
import dev.loracle.contracts.devchain.TransactionManagers;
import dev.loracle.contracts.generated.StoryTeller;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import org.web3j.protocol.Web3j;
import org.web3j.protocol.core.methods.response.TransactionReceipt;
import org.web3j.tuples.generated.Tuple5;
import org.web3j.tx.TransactionManager;
import org.web3j.utils.Numeric;
import tools.jackson.databind.JsonNode;

/**
 * The one-command local demo: brings up {@link DevStack} (stories260K, or the GGUF named by {@code --model}), asks the
 * example StoryTeller contract for a story steered by the two published style adapters (through the model's chat
 * template when it has one), waits for the {@code StoryTold} callback and prints the story, the transaction
 * hashes, the time each stage took and the runtime memory before, during and after the request. Run with
 * {@code --help} for the options; {@code --keep-running} leaves the stack up for your own contracts.
 */
public final class LocalDemo {
    private final long t0 = System.nanoTime();

    public static void main(String[] args) {
        DemoOptions options;
        try {
            options = DemoOptions.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            System.err.println(DemoOptions.USAGE);
            System.exit(2);
            return;
        }
        if (options == null) {
            System.out.println(DemoOptions.USAGE);
            return;
        }
        int status = new LocalDemo().run(options);
        System.exit(status);
    }

    /**
     * Runs the demo with command-line {@code args} and returns its exit status instead of exiting (used by the
     * end-to-end test that keeps the README's main command working).
     */
    public static int runForExitCode(String... args) {
        DemoOptions options = DemoOptions.parse(args);
        if (options == null) {
            System.out.println(DemoOptions.USAGE);
            return 0;
        }
        return new LocalDemo().run(options);
    }

    int run(DemoOptions options) {
        DemoModel model = null;
        if (options.model() != null) {
            try {
                model = DemoModel.fromGguf(options.model());
            } catch (IllegalArgumentException e) {
                System.err.println("error: " + e.getMessage());
                return 2;
            }
            progress("model " + model.name() + " from " + model.weights() + ": " + model.shape().architecture()
                    + ", dim " + model.shape().dim() + ", " + model.shape().nLayers() + " layers, profile "
                    + model.profile() + ", prompts " + (model.chat() ? "CHAT (its chat template)" : "RAW"));
        }
        DevStack stack;
        try {
            stack = DevStack.builder()
                    .model(model)
                    .blockTime(options.blockTime())
                    .anvilPort(options.anvilPort())
                    .oraclePort(options.oraclePort())
                    .oracleMode(DevStack.OracleMode.NONE)
                    .progress(this::progress)
                    .start();
        } catch (RuntimeException e) {
            progress("FAILED to bring up chain / IPFS / contracts: " + e.getMessage());
            return 1;
        }
        try {
            progress("contracts deployed: coordinator " + stack.deployment().coordinator() + ", StoryTeller "
                    + stack.deployment().storyTeller() + ", model " + stack.deployment().modelName() + " ("
                    + stack.deployment().modelId() + ")");
            boolean oracleUp;
            try {
                stack.startOracle(options.oracleProcess() ? DevStack.OracleMode.CHILD_PROCESS
                        : DevStack.OracleMode.IN_PROCESS);
                oracleUp = true;
            } catch (RuntimeException e) {
                oracleUp = false;
                progress("FAILED to start the oracle node: " + rootMessage(e));
                printLogTail(stack.oracleSettings().dataDir().resolve("oracle.log"), 25);
                progress("(chain, IPFS and contracts are up" + (options.keepRunning()
                        ? "; the oracle log is " + stack.oracleSettings().dataDir().resolve("oracle.log") + ")"
                        : ")"));
            }
            boolean told = oracleUp && tellStory(stack, options);
            if (options.keepRunning()) {
                String json = stack.endpointsJson();
                System.out.println(json);
                try {
                    Files.writeString(options.endpointsFile(), json + "\n");
                    progress("endpoints written to " + options.endpointsFile()
                            + " (e.g. cd contracts && node scripts/request-story.mjs " + options.endpointsFile() + ")");
                } catch (IOException e) {
                    progress("cannot write " + options.endpointsFile() + ": " + e.getMessage());
                }
                progress(completionsHint(stack));
                progress("stack is running; press Ctrl-C to stop it");
                awaitCtrlC();
                return 0;
            }
            return told ? 0 : 1;
        } finally {
            stack.close();
            progress("stopped");
        }
    }

    /** A curl command for the node's OpenAI-style API: chat completions for a chat model, else text completions. */
    private static String completionsHint(DevStack stack) {
        DemoModel.ApiExample call = stack.model().apiExample(32);
        return "completions API (dev key " + OracleSettings.DEV_API_KEY + "): curl -s " + stack.oracleRestUrl()
                + call.path() + " -H 'Authorization: Bearer " + OracleSettings.DEV_API_KEY
                + "' -H 'Content-Type: application/json' -d '" + call.body().replace("'", "'\\''") + "'";
    }

    private boolean tellStory(DevStack stack, DemoOptions options) {
        OracleRestClient rest = stack.oracleRest();
        Web3j web3j = stack.anvil().web3j();
        JsonNode memoryBefore = runtimeOrNull(rest);
        progress("runtime before: " + memoryLine(memoryBefore));

        TransactionManager user = TransactionManagers.fastPolling(web3j, DevAccounts.get(DevStack.USER_ACCOUNT),
                stack.anvil().chainId(), Duration.ofMillis(50), Duration.ofSeconds(120));
        StoryTeller storyTeller = StoryTeller.load(stack.deployment().storyTeller(), web3j, user,
                DevChainDeployer.DEV_GAS);
        byte[] modelId = Numeric.hexStringToByteArray(stack.deployment().modelId());
        List<StoryTeller.Adapter> adapters = stack.adapters().stream()
                .map(a -> new StoryTeller.Adapter(a.cidBytes(), BigInteger.valueOf(a.weight()))).toList();
        TransactionReceipt requestReceipt;
        BigInteger requestId;
        boolean chat = stack.model().chat();
        String prompt = options.promptFor(stack.model());
        long sentAt = System.nanoTime();
        try {
            BigInteger fee = storyTeller.quoteStory(modelId, BigInteger.valueOf(adapters.size()),
                    BigInteger.valueOf(options.maxTokens())).send();
            progress(String.format(Locale.ROOT, "sending %s(\"%s\", %d tokens, seed %d) with adapters %s; fee %s wei",
                    chat ? "tellChatStory" : "tellStory", prompt, options.maxTokens(), options.seed(),
                    stack.adapters().stream().map(a -> a.name() + " x" + a.weight() / 1e4).toList(), fee));
            BigInteger maxTokens = BigInteger.valueOf(options.maxTokens());
            BigInteger seed = BigInteger.valueOf(options.seed());
            requestReceipt = (chat
                    ? storyTeller.tellChatStory(modelId, adapters, DemoModel.chatMessages(prompt), maxTokens, seed, fee)
                    : storyTeller.tellStory(modelId, adapters, prompt, maxTokens, seed, fee)).send();
            requestId = StoryTeller.getStoryRequestedEvents(requestReceipt).getFirst().requestId;
        } catch (Exception e) {
            progress("FAILED to send the request: " + rootMessage(e));
            return false;
        }
        String requestIdHex = Numeric.toHexStringWithPrefixZeroPadded(requestId, 64);
        progress("request " + requestIdHex + " in tx " + requestReceipt.getTransactionHash() + " (block "
                + requestReceipt.getBlockNumber() + ")");

        // Wait for the callback, sampling the runtime's memory meanwhile to catch the adapters while resident.
        long deadline = System.nanoTime() + Duration.ofSeconds(options.timeoutSeconds()).toNanos();
        JsonNode peak = null;
        long peakUsed = -1;
        String lastState = "";
        Tuple5<String, BigInteger, BigInteger, String, String> story = null;
        while (System.nanoTime() < deadline && !stack.isClosed()) {
            JsonNode runtime = runtimeOrNull(rest);
            long used = usedBytes(runtime);
            if (used > peakUsed) {
                peakUsed = used;
                peak = runtime;
            }
            String state = journalState(rest, requestId).orElse("(not in journal yet)");
            if (!state.equals(lastState)) {
                progress("oracle: " + state);
                lastState = state;
            }
            try {
                story = storyTeller.stories(requestId).send();
            } catch (Exception e) {
                progress("reading the story failed (retrying): " + rootMessage(e));
            }
            if (story != null && story.component2().intValue() >= 2) {
                break;
            }
            sleep(100);
        }
        long callbackMs = (System.nanoTime() - sentAt) / 1_000_000;
        if (stack.isClosed()) {
            return false; // Ctrl-C: the shutdown hook is stopping everything
        }
        if (story == null || story.component2().intValue() < 2) {
            progress("TIMED OUT after " + options.timeoutSeconds() + " s waiting for StoryTold; oracle state: "
                    + lastState);
            return false;
        }
        CoordinatorEvents events = new CoordinatorEvents(web3j, stack.deployment().coordinator(),
                stack.deployment().deployBlock());
        List<CoordinatorEvents.Outcome> outcomes = events.outcomes(requestId);
        String outcomeTx = outcomes.isEmpty() ? "(none found)" : outcomes.getFirst().txHash();

        // After confirmation the oracle unloads the adapters: wait (briefly) for the journal to say so.
        Optional<JsonNode> entry = awaitFinalEntry(rest, requestId, Duration.ofSeconds(15));
        JsonNode memoryAfter = runtimeOrNull(rest);

        System.out.println();
        int status = story.component2().intValue();
        if (status == 2) {
            System.out.println("=== story (request " + requestIdHex + ") ===");
            if (chat) {
                // The output is the assistant's reply to the user's message.
                System.out.println("> " + prompt);
                System.out.println(story.component5());
            } else {
                // The output is the continuation; the prompt is the story's opening.
                System.out.println(prompt + story.component5());
            }
            System.out.println("=== end of story ===");
        } else {
            System.out.println("=== the oracle reported a failure (status " + status + ") ===");
            outcomes.forEach(o -> System.out.println("code " + o.failureCode() + ": " + o.reason()));
        }
        System.out.println();
        System.out.println("transactions:");
        System.out.println("  request  " + requestReceipt.getTransactionHash() + " (block " + requestReceipt.getBlockNumber() + ")");
        System.out.println("  " + (status == 2 ? "fulfil  " : "failure ") + " " + outcomeTx
                + (outcomes.isEmpty() ? "" : " (block " + outcomes.getFirst().blockNumber() + ", callback "
                + (outcomes.getFirst().callbackSucceeded() ? "succeeded" : "FAILED") + ")"));
        System.out.println("timings:");
        System.out.println("  request tx sent -> StoryTold seen by this client: " + callbackMs + " ms");
        entry.ifPresentOrElse(e -> printTimings(e), () -> System.out.println("  (no journal entry from the oracle's REST API)"));
        System.out.println("runtime memory (GET /api/runtime):");
        System.out.println("  before: " + memoryLine(memoryBefore));
        System.out.println("  during: " + memoryLine(peak));
        System.out.println("  after:  " + memoryLine(memoryAfter));
        long base = usedBytes(memoryBefore);
        long after = usedBytes(memoryAfter);
        if (base >= 0 && after >= 0) {
            System.out.println("  back to base: " + (after == base ? "yes" : "NO (" + (after - base) + " bytes more)"));
        }
        System.out.println();
        return status == 2;
    }

    /** Stage durations from the journal's epoch-millisecond timestamps (seen, fetch, run, submit, confirm, unload). */
    private static void printTimings(JsonNode entry) {
        JsonNode state = OracleRestClient.field(entry, "state");
        System.out.println("  journal state: " + (state == null ? "?" : state.asString()));
        JsonNode t = OracleRestClient.field(entry, "timings");
        if (t == null || !t.isObject()) {
            System.out.println("  (journal entry has no timings) " + entry);
            return;
        }
        String[][] stages = {
                {"seenAt", "fetchStartedAt", "event seen -> adapter fetch started"},
                {"fetchStartedAt", "runStartedAt", "adapter fetch (IPFS, verified) + queue"},
                {"runStartedAt", "submittedAt", "attach + generate + commitment"},
                {"submittedAt", "confirmedAt", "fulfil tx sent -> confirmed"},
                {"confirmedAt", "unloadedAt", "confirmed -> adapters unloaded"},
                {"seenAt", "unloadedAt", "total inside the oracle"}};
        for (String[] stage : stages) {
            JsonNode from = t.get(stage[0]);
            JsonNode to = t.get(stage[1]);
            if (from != null && to != null && from.isNumber() && to.isNumber()) {
                System.out.printf(Locale.ROOT, "  %-42s %6d ms%n", stage[2] + ":", to.asLong() - from.asLong());
            }
        }
        JsonNode gen = OracleRestClient.field(entry, "generationNanos");
        JsonNode tokens = OracleRestClient.field(entry, "outputTokens");
        if (gen != null && gen.isNumber() && gen.asLong() > 0) {
            double ms = gen.asLong() / 1e6;
            System.out.printf(Locale.ROOT, "  %-42s %6.1f ms (%s tokens%s)%n", "of which generation:", ms,
                    tokens == null ? "?" : tokens.asString(), tokens != null && tokens.asLong() > 0
                            ? String.format(Locale.ROOT, ", %.0f tokens/s", tokens.asLong() / (ms / 1000)) : "");
        }
    }

    private static Optional<JsonNode> awaitFinalEntry(OracleRestClient rest, BigInteger requestId, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Optional<JsonNode> last = Optional.empty();
        while (System.nanoTime() < deadline) {
            last = journalEntry(rest, requestId);
            String state = last.map(e -> OracleRestClient.field(e, "state")).map(JsonNode::asString).orElse("");
            if (state.equals("UNLOADED") || state.equals("FAILED") || state.equals("EXPIRED")
                    || state.equals("CANCELLED")) {
                return last;
            }
            sleep(100);
        }
        return last;
    }

    static Optional<JsonNode> journalEntry(OracleRestClient rest, BigInteger requestId) {
        return rest.request(requestId);
    }

    private static Optional<String> journalState(OracleRestClient rest, BigInteger requestId) {
        return journalEntry(rest, requestId).map(e -> OracleRestClient.field(e, "state")).map(JsonNode::asString);
    }

    private static JsonNode runtimeOrNull(OracleRestClient rest) {
        try {
            return rest.runtime();
        } catch (RuntimeException e) {
            return null;
        }
    }

    static long usedBytes(JsonNode runtime) {
        return OracleRestClient.usedBytes(runtime);
    }

    static String memoryLine(JsonNode runtime) {
        return OracleRestClient.memoryLine(runtime);
    }

    private void progress(String line) {
        System.out.printf(Locale.ROOT, "[%6.1fs] %s%n", (System.nanoTime() - t0) / 1e9, line);
        System.out.flush();
    }

    /** The oracle's last log lines: its temporary directory is deleted when the demo stops. */
    private static void printLogTail(Path log, int lines) {
        try {
            List<String> all = Files.readAllLines(log);
            System.out.println("--- last lines of the oracle log ---");
            all.subList(Math.max(0, all.size() - lines), all.size()).forEach(System.out::println);
            System.out.println("---");
        } catch (IOException | RuntimeException e) {
            System.out.println("(no oracle log at " + log + ")");
        }
    }

    private static void awaitCtrlC() {
        CountDownLatch forever = new CountDownLatch(1);
        try {
            forever.await(); // the shutdown hook of DevStack stops everything on Ctrl-C / SIGTERM
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t == e ? String.valueOf(e.getMessage()) : e.getMessage() + " (cause: " + t + ")";
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
